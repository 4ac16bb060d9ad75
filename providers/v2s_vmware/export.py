"""``disk_export``: read a base disk over the datastore HTTPS endpoint into a sparse file.

Range GETs of ``chunk`` bytes run in parallel; all-zero blocks are left as holes; each
finished chunk is reported so the caller can checkpoint it, and a rerun fetches only the
chunks not yet done. The SHA-256 is computed over the finished file.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import functools
import hashlib
import os
import re
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import requests
import urllib3

from vmware2scw.errors import ProviderError, TransientError

BLOCK = 1 << 20  # zero detection granularity inside a chunk
_EXTENT = re.compile(r'^(RW|RDONLY|NOACCESS)\s+(\d+)\s+(\w+)\s+"([^"]+)"(?:\s+(\d+))?', re.M)
_FALLOC_PUNCH = 0x01 | 0x02  # FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE
_libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)


def parse_disk_file(disk_file: str) -> tuple[str, str]:
    """``"[ds] dir/x.vmdk"`` -> ``("ds", "dir/x.vmdk")``."""
    m = re.match(r"^\[([^\]]+)\]\s*(.+)$", disk_file)
    if not m:
        raise ProviderError(
            f"not a datastore path: {disk_file!r} (expected '[datastore] dir/x.vmdk')"
        )
    return m.group(1), m.group(2)


def folder_url(base_url: str, path: str, dc_path: str, datastore: str) -> str:
    """The datastore HTTP URL of one file."""
    return (f"{base_url}/folder/{quote(path)}?dcPath={quote(dc_path, safe='')}"
            f"&dsName={quote(datastore, safe='')}")


def ranges_to_set(ranges: Iterable[Iterable[int]]) -> set[int]:
    """Chunk indices from ``[[start, end), ...]``."""
    return {i for a, b in (tuple(r) for r in ranges) for i in range(a, b)}


def set_to_ranges(done: set[int]) -> list[list[int]]:
    """Compact ``[[start, end), ...]`` of sorted chunk indices (checkpoint form)."""
    out: list[list[int]] = []
    for i in sorted(done):
        if out and out[-1][1] == i:
            out[-1][1] = i + 1
        else:
            out.append([i, i + 1])
    return out


@dataclass
class ExportStats:
    fetched_bytes: int = 0  # bytes transferred over HTTP in this run
    hole_bytes: int = 0  # bytes left as holes in this run
    chunks: int = 0
    sha256: str = ""  # of the whole file, once every chunk is there
    cbt: bool = False  # only the allocated areas CBT reported were read
    range_sha256: list[str] = field(default_factory=list)  # per chunk, when hashed in order


class DatastoreReader:
    """GETs of one file over datastore HTTP, with a cookie refresher for expired sessions."""

    def __init__(self, http: Callable[[], requests.Session], relogin: Callable[[], None],
                 timeout_s: float, address: str) -> None:
        self._http = http
        self._relogin = relogin
        self.timeout_s = timeout_s
        self.address = address
        self.fetched = 0
        self._lock = threading.Lock()

    def get(self, url: str, headers: dict[str, str] | None = None, *, attempts: int = 4) -> bytes:
        """The body of a GET, retried on resets and 5xx, re-logging in once on 401/403."""
        delay, relogged = 0.2, False
        err: Exception = TransientError("datastore read failed", address=self.address)
        for attempt in range(attempts):
            try:
                status, body = self._once(url, headers or {})
            except requests.exceptions.SSLError as exc:
                raise ProviderError(f"TLS check of the datastore endpoint failed: {exc}",
                                    address=self.address) from None
            except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
                err = TransientError(f"datastore read failed: {exc}", address=self.address)
            else:
                if status in (200, 206):
                    with self._lock:
                        self.fetched += len(body)
                    return body
                if status in (401, 403) and not relogged:
                    self._relogin()
                    relogged = True
                    continue
                if status == 404:
                    where = url.split("?", 1)[0]
                    raise ProviderError(f"disk file not found on the datastore ({where})",
                                        address=self.address, hint="refresh and plan again")
                if status < 500 and status != 429:
                    raise ProviderError(f"datastore read answered HTTP {status}",
                                        address=self.address)
                err = TransientError(f"datastore read answered HTTP {status}",
                                     address=self.address)
            if attempt + 1 < attempts:
                time.sleep(delay)
                delay *= 2
        raise err

    def _once(self, url: str, headers: dict[str, str]) -> tuple[int, bytes]:
        """One GET; the body is read in one call (much faster than requests' 10 KiB steps)."""
        with self._http().get(url, headers=headers, timeout=self.timeout_s, stream=True) as r:
            if r.status_code not in (200, 206):
                return r.status_code, b""
            body = r.raw.read(decode_content=True)
            expected = r.headers.get("Content-Length")
            if expected is not None and len(body) != int(expected):
                raise urllib3.exceptions.ProtocolError(
                    f"short read: {len(body)} of {expected} bytes")
            return r.status_code, body


def resolve_extent(reader: DatastoreReader, base_url: str, dc_path: str, disk_file: str
                   ) -> tuple[str, str]:
    """(datastore, path) of the flat extent holding the data of a VMDK descriptor."""
    ds, path = parse_disk_file(disk_file)
    head = reader.get(folder_url(base_url, path, dc_path, ds), {"Range": "bytes=0-65535"})
    text = head.decode("latin-1")
    if "# Disk DescriptorFile" not in text and "createType" not in text:
        raise ProviderError(f"{disk_file} is not a VMDK descriptor (a sparse or unknown format)",
                            address=reader.address)
    extents = _EXTENT.findall(text)
    if len(extents) != 1 or extents[0][2] not in ("FLAT", "VMFS"):
        kinds = ", ".join(e[2] for e in extents) or "none"
        raise ProviderError(
            f"{disk_file}: extents {kinds} cannot be read over datastore HTTP",
            address=reader.address,
            hint="only flat disks (one FLAT/VMFS extent) are supported; clone the VM to a "
            "thin or thick disk on VMFS/NFS first",
        )
    folder = path.rsplit("/", 1)[0] + "/" if "/" in path else ""
    return ds, folder + extents[0][3]


def _punch_hole(fd: int, offset: int, length: int) -> None:
    if _libc.fallocate(fd, _FALLOC_PUNCH, ctypes.c_int64(offset), ctypes.c_int64(length)) != 0:
        os.pwrite(fd, bytes(length), offset)  # no hole punching here: write zeros instead


def _store(fd: int, offset: int, data: bytes, fresh: bool) -> int:
    """Write the non-zero blocks of one chunk; returns the bytes left as holes."""
    holes = 0
    view = memoryview(data)
    zero = bytes(min(BLOCK, len(data)))
    for start in range(0, len(data), BLOCK):
        block = view[start : start + BLOCK]
        if data[start : start + BLOCK] == zero[: len(block)]:  # bytes compare: memcmp speed
            holes += len(block)
            if not fresh:
                _punch_hole(fd, offset + start, len(block))
        else:
            os.pwrite(fd, block, offset + start)
    return holes


def fetch_chunks(reader: DatastoreReader, url: str, out: Path, *, size: int, chunk: int,
                 parallel: int, done: set[int], on_chunk: Callable[[int, ExportStats], None],
                 cancelled: threading.Event,
                 areas: dict[int, list[tuple[int, int]]] | None = None,
                 device: bool = False, fresh: bool | None = None) -> ExportStats:
    """Fetch every chunk index not in ``done`` into ``out`` (sparse); ``done`` grows in place.

    With ``areas`` (chunk index -> allocated [start, end) spans, from CBT) only those spans
    are read; a chunk without any stays a hole. While workers fetch, this thread hashes the
    file in order as the finished prefix grows (no second pass), and each chunk apart.
    A ``device`` (an attached volume) is written in place: never created nor truncated;
    ``fresh`` says whether it still reads zeros where nothing was written.
    """
    if fresh is None:
        fresh = not out.exists()
    if not device:
        with out.open("ab"):
            pass
        os.truncate(out, size)
    stats = ExportStats()
    total = (size + chunk - 1) // chunk
    if areas is not None:  # unallocated chunks: holes of the fresh file, nothing to read
        skipped = [i for i in range(total) if i not in done and i not in areas]
        done.update(skipped)
        stats.hole_bytes += sum(min(size, (i + 1) * chunk) - i * chunk for i in skipped)
    todo = [i for i in range(total) if i not in done]
    cond = threading.Condition()
    fd = os.open(out, os.O_RDWR)
    try:
        def one(i: int) -> None:
            if cancelled.is_set():
                return
            whole = (i * chunk, min(size, (i + 1) * chunk))
            fetched, holes = 0, whole[1] - whole[0]
            for start, end in (areas or {}).get(i, [whole]):
                data = read_range(reader, url, start, end)
                holes -= len(data) - _store(fd, start, data, fresh)
                fetched += len(data)
            with cond:
                done.add(i)
                stats.fetched_bytes += fetched
                stats.hole_bytes += holes
                stats.chunks += 1
                on_chunk(i, stats)
                cond.notify_all()

        hasher, next_i = hashlib.sha256(), 0
        with ThreadPoolExecutor(max_workers=parallel, thread_name_prefix="v2s-export") as pool:
            futures = [pool.submit(one, i) for i in todo]

            def wake(_f: object) -> None:
                with cond:
                    cond.notify_all()

            for f in futures:
                f.add_done_callback(wake)
            def settled(n: int) -> bool:
                return n in done or all(f.done() for f in futures)

            while next_i < total:
                with cond:
                    ready = cond.wait_for(functools.partial(settled, next_i), timeout=1.0)
                    have = next_i in done
                if have:
                    length = min(size, (next_i + 1) * chunk) - next_i * chunk
                    piece = os.pread(fd, length, next_i * chunk)
                    hasher.update(piece)
                    if device:
                        stats.range_sha256.append(hashlib.sha256(piece).hexdigest())
                    next_i += 1
                elif ready:  # every worker finished, yet a chunk is missing: failed/cancelled
                    break
            failed = [f for f in futures if f.done() and f.exception() is not None]
            if failed:
                for f in futures:
                    f.cancel()
                exc = failed[0].exception()
                assert exc is not None
                raise exc
        if next_i == total:
            stats.sha256 = hasher.hexdigest()
        os.fsync(fd)
    finally:
        os.close(fd)
    return stats


def read_range(reader: DatastoreReader, url: str, start: int, end: int) -> bytes:
    """The bytes ``[start, end)`` of a datastore file, checked for length."""
    data = reader.get(url, {"Range": f"bytes={start}-{end - 1}"})
    if len(data) != end - start:
        raise ProviderError(f"datastore returned {len(data)} bytes for a {end - start}-byte "
                            "range (Range ignored?)", address=reader.address)
    return data


def file_sha256(path: Path, cancelled: threading.Event | None = None,
                size: int | None = None) -> str:
    """SHA-256 of a (sparse) file, or of its first ``size`` bytes."""
    h = hashlib.sha256()
    left = -1 if size is None else size
    with path.open("rb") as f:
        while left and (block := f.read(8 << 20 if left < 0 else min(8 << 20, left))):
            left -= len(block) if left > 0 else 0
            h.update(block)
            if cancelled is not None and cancelled.is_set():
                raise TransientError("export cancelled while hashing; re-run to finish")
    return h.hexdigest()


def allocated_bytes(path: Path) -> int:
    """Bytes the file really occupies on disk (holes excluded)."""
    with contextlib.suppress(FileNotFoundError):
        return path.stat().st_blocks * 512
    return 0


class Limits:
    """Per-host and per-datastore export slots, shared by every export in the process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sems: dict[str, threading.BoundedSemaphore] = {}

    def _sem(self, key: str, size: int) -> threading.BoundedSemaphore:
        with self._lock:
            if key not in self._sems:
                self._sems[key] = threading.BoundedSemaphore(size)
            return self._sems[key]

    @contextlib.contextmanager
    def slots(self, host: str, per_host: int, datastore: str, per_ds: int):  # type: ignore[no-untyped-def]
        """Hold one host slot then one datastore slot (always in this order: no deadlock)."""
        host_sem = self._sem(f"host:{host}", per_host)
        ds_sem = self._sem(f"ds:{datastore}", per_ds)
        with host_sem, ds_sem:
            yield


LIMITS = Limits()
