"""Link limits for the lab: a token bucket, a rate-limited TCP relay, a paced writer.

Off by default everywhere. ``TokenBucket(rate)`` paces byte counts to ``rate`` bytes
per second (bursts up to 10 ms worth, at least 256 KiB). ``ThrottledRelay`` sits in front
of a loopback server (moto) and paces what clients send through it (uploads), optionally
what they receive. ``paced_copy`` writes a file through a path at a given rate (what the
lab's device paths use, since a regular file cannot slow its writer down by itself).
"""

from __future__ import annotations

import contextlib
import errno
import os
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path

CHUNK = 256 * 1024


class TokenBucket:
    """``take(n)`` blocks until ``n`` bytes fit the rate (thread-safe)."""

    def __init__(
        self, rate: float, burst: float | None = None, *,
        clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep,
    ) -> None:  # fmt: skip
        if rate <= 0:
            raise ValueError(f"a rate is a positive number of bytes per second, got {rate}")
        self.rate = float(rate)
        self.burst = burst if burst is not None else max(self.rate / 100, CHUNK)
        self._clock, self._sleep = clock, sleep
        self._tokens = self.burst
        self._last = clock()
        self._lock = threading.Lock()

    def take(self, n: int) -> None:
        with self._lock:  # one waiter at a time: the rate is shared, not per caller
            while True:
                now = self._clock()
                self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
                self._last = now
                if self._tokens >= min(n, self.burst):
                    self._tokens -= n  # may go negative: a large take pays later
                    return
                self._sleep((min(n, self.burst) - self._tokens) / self.rate)


def paced(bucket: TokenBucket | None, n: int) -> None:
    if bucket is not None:
        bucket.take(n)


class ThrottledRelay:
    """A loopback TCP relay to ``127.0.0.1:target`` that limits its upload rate.

    ``upload_rate`` paces client → server bytes, ``download_rate`` server → client
    (None = unlimited). One bucket per direction is shared by all connections, like a
    single link. Threads only: it dies with the process that runs it.
    """

    def __init__(
        self, target: int, upload_rate: float | None = None, download_rate: float | None = None
    ) -> None:
        self.target = target
        self.up = TokenBucket(upload_rate) if upload_rate else None
        self.down = TokenBucket(download_rate) if download_rate else None
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = int(self.sock.getsockname()[1])
        self._closed = threading.Event()
        self._conns: set[socket.socket] = set()
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, name="lab-throttle", daemon=True).start()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            upstream = socket.create_connection(("127.0.0.1", self.target), timeout=10)
        except OSError:
            conn.close()
            return
        upstream.settimeout(None)
        with self._lock:
            self._conns.update((conn, upstream))
        t = threading.Thread(target=self._pump, args=(upstream, conn, self.down), daemon=True)
        t.start()
        self._pump(conn, upstream, self.up)
        t.join(timeout=30)
        with self._lock:
            self._conns.difference_update((conn, upstream))
        conn.close()
        upstream.close()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket, bucket: TokenBucket | None) -> None:
        with contextlib.suppress(OSError):
            while data := src.recv(CHUNK if bucket is None else min(CHUNK, int(bucket.burst))):
                paced(bucket, len(data))
                dst.sendall(data)
        for s in (src, dst):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self._closed.set()
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()
        with self._lock:
            conns, self._conns = list(self._conns), set()
        for s in conns:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)


def rate_from_env(name: str, environ: dict[str, str] | None = None) -> float | None:
    """A bytes/second limit from an environment variable (unset or empty = none)."""
    raw = (environ if environ is not None else os.environ).get(name, "").strip()
    if not raw:
        return None
    rate = float(raw)
    if rate <= 0:
        raise ValueError(f"{name} must be a positive number of bytes per second, got {raw!r}")
    return rate


def paced_copy(src: Path, dest: Path, rate: float | None = None, *, sparse: bool = True) -> int:
    """Copy ``src`` into the existing file or device ``dest`` at ``rate`` bytes/s.

    Only ``src``'s data extents are written when ``sparse`` (holes read as zeros on a
    new volume); returns the bytes written."""
    bucket = TokenBucket(rate) if rate else None
    written = 0
    with src.open("rb") as fin, dest.open("r+b") as fout:
        size = os.fstat(fin.fileno()).st_size
        for start, end in _extents(fin.fileno(), size) if sparse else [(0, size)]:
            fin.seek(start)
            fout.seek(start)
            pos = start
            while pos < end:
                data = fin.read(min(CHUNK, end - pos))
                if not data:
                    break
                paced(bucket, len(data))
                fout.write(data)
                pos += len(data)
                written += len(data)
        fout.flush()
        os.fsync(fout.fileno())
    return written


def _extents(fd: int, size: int) -> list[tuple[int, int]]:
    """(start, end) of each data extent (SEEK_DATA/SEEK_HOLE); the whole file if unsupported."""
    out: list[tuple[int, int]] = []
    pos = 0
    try:
        while pos < size:
            start = os.lseek(fd, pos, os.SEEK_DATA)
            end = os.lseek(fd, start, os.SEEK_HOLE)
            out.append((start, end))
            pos = end
    except OSError as exc:
        if exc.errno == errno.ENXIO:  # no data after pos
            return out
        return [(0, size)]
    return out
