"""The lab's post-migration check: simulator servers booted for real under qemu.

The Scaleway simulator calls :meth:`GuestBoots.hook` when a server reaches ``running``;
the hook boots the server from its root volume with every volume attached in index order,
the way Scaleway would (q35, OVMF, virtio-scsi LUNs 0, 1, ..., virtio-net;
``v2s_qemu.bootcheck.qemu_argv``) with each guest port forwarded to a
private loopback port. A public relay port per (server, guest port) only starts
listening once the guest itself answers there (sshd's banner), so the Scaleway
provider's ``verify_tcp`` sees "connection refused" until the migrated guest is up.
A small HTTP endpoint answers the provider's ``verify_tcp_resolver``
(``/tcp/{server_id}/{port}`` -> ``{"host", "port"}``) and lists the boots (``/boots``).
qemu is stopped when the server stops or disappears, and when the lab closes.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import re
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from v2s_qemu import lifeline
from v2s_qemu.bootcheck import ANSI_RE, FATAL, LOGIN_RE, MARKER_RE, qemu_argv
from v2s_qemu.kvm import accelerator

_MARKER_LINE = re.compile(r"^.*V2S-MARKER .*$", re.MULTILINE)


@dataclass
class BootRecord:
    """What one simulator server's boot showed (kept for the demo and ``status``)."""

    server_id: str
    name: str
    state: str = "booting"  # booting | up | failed | stopped
    reason: str = ""
    seconds: float = 0.0
    marker: str = ""  # the guest's console line: root device, IPv4, tools
    ports: dict[int, int] = field(default_factory=dict)  # guest port -> relay port (listening)
    disks: list[str] = field(default_factory=list)  # the volumes' files, LUN 0, 1, ...
    console_tail: str = ""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _banner(port: int, timeout: float = 2.0) -> bool:
    """True when the forwarded guest port sends bytes (slirp accepts even when nothing
    listens in the guest, then closes: an empty read means "not yet")."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            s.settimeout(timeout)
            return bool(s.recv(1))
    except OSError:
        return False


class Relay:
    """A loopback port reserved at once that listens (and pipes to ``target``) only when
    told to: before that, connecting is refused."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.port = int(self.sock.getsockname()[1])
        self.target: int | None = None
        self._closed = threading.Event()

    def open(self, target: int) -> None:
        """Start accepting and piping every connection to 127.0.0.1:``target``."""
        if self.target is not None or self._closed.is_set():
            return
        self.target = target
        self.sock.listen(16)
        threading.Thread(target=self._accept, name="lab-relay", daemon=True).start()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        assert self.target is not None
        try:
            up = socket.create_connection(("127.0.0.1", self.target), timeout=5)
        except OSError:
            conn.close()
            return
        up.settimeout(None)

        def pump(a: socket.socket, b: socket.socket) -> None:
            with contextlib.suppress(OSError):
                while data := a.recv(65536):
                    b.sendall(data)
            for s in (a, b):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

        t = threading.Thread(target=pump, args=(up, conn), daemon=True)
        t.start()
        pump(conn, up)
        t.join(timeout=5)
        conn.close()
        up.close()

    def close(self) -> None:
        self._closed.set()
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()


class GuestBoots:
    """Boots running simulator servers under qemu; see the module docstring."""

    def __init__(
        self,
        work_dir: Path,
        *,
        ports: tuple[int, ...] = (22,),
        memory_mb: int = 1024,
        timeout: float = 600.0,
        is_running: Callable[[str], bool] | None = None,
    ) -> None:
        self.work_dir = work_dir
        self.ports = ports
        self.memory_mb = memory_mb
        self.timeout = timeout
        self.is_running = is_running or (lambda _sid: True)
        self.records: dict[str, BootRecord] = {}
        self._relays: dict[tuple[str, int], Relay] = {}
        self._procs: dict[str, lifeline.Guarded] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._spawn_q: queue.Queue[tuple[list[str], dict[str, str], queue.Queue[Any]] | None] = (
            queue.Queue()
        )
        self._threads: list[threading.Thread] = []
        self._httpd: ThreadingHTTPServer | None = None

    # -- life cycle -------------------------------------------------------------
    def start(self) -> GuestBoots:
        self.work_dir.mkdir(parents=True, exist_ok=True)
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._httpd.daemon_threads = True
        self._httpd.boots = self  # type: ignore[attr-defined]
        for target in (self._httpd.serve_forever, self._spawner, self._reaper):
            t = threading.Thread(target=target, name="lab-boots", daemon=True)
            t.start()
            self._threads.append(t)
        return self

    def close(self) -> None:
        """Stop every qemu, close relays and the endpoint (idempotent)."""
        self._stop.set()
        self._spawn_q.put(None)
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        for sid in list(self._procs):
            self.stop_server(sid, "lab closed")
        with self._lock:
            relays, self._relays = list(self._relays.values()), {}
        for r in relays:
            r.close()
        for t in self._threads:
            t.join(timeout=10)
        self._threads = []

    @property
    def url(self) -> str:
        assert self._httpd is not None
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    @property
    def resolver_template(self) -> str:
        """The Scaleway provider's ``verify_tcp_resolver`` setting for this lab."""
        return self.url + "/tcp/{server_id}/{port}"

    def pids(self) -> list[int]:
        """qemu processes still running."""
        with self._lock:
            return [g.proc.pid for g in self._procs.values() if g.proc.poll() is None]

    # -- what the resolver and the simulator call -------------------------------
    def relay(self, server_id: str, port: int) -> Relay:
        with self._lock:
            key = (server_id, port)
            if key not in self._relays:
                self._relays[key] = Relay()
            return self._relays[key]

    def hook(self, info: Any) -> BootRecord:
        """The simulator's boot hook (``BootInfo`` in, the record out)."""
        rec = BootRecord(server_id=info.server_id, name=info.name)
        self.records[info.server_id] = rec
        if info.root_volume_path is None:
            rec.state, rec.reason = "failed", "the server's root volume holds no data"
            return rec
        ordered = sorted(info.volume_paths.items(), key=lambda kv: int(kv[0]))
        missing = [k for k, p in ordered if p is None]
        if missing:
            rec.state, rec.reason = "failed", f"volumes {missing} of the server hold no data"
            return rec
        rec.disks = [str(p) for _, p in ordered]
        try:
            self._boot(info.server_id, [Path(p) for p in rec.disks], rec)
        except Exception as exc:  # a broken lab must show, not hang the demo
            rec.state, rec.reason = "failed", f"{type(exc).__name__}: {exc}"
            self.stop_server(info.server_id, rec.reason)
        return rec

    def close_boots(self) -> None:
        """Stop every running guest (the endpoint stays up)."""
        for sid in list(self._procs):
            self.stop_server(sid, "stopped by the lab")

    def stop_server(self, server_id: str, why: str = "server stopped") -> None:
        with self._lock:
            guard = self._procs.pop(server_id, None)
            relays = [k for k in self._relays if k[0] == server_id]
            closing = [self._relays.pop(k) for k in relays]
        for r in closing:
            r.close()
        if guard is not None:
            running = guard.proc.poll() is None
            guard.stop()
            rec = self.records.get(server_id)
            if running and rec is not None and rec.state in ("booting", "up"):
                rec.state, rec.reason = "stopped", why
        shutil.rmtree(self.work_dir / server_id, ignore_errors=True)

    # -- internals ----------------------------------------------------------------
    def _spawner(self) -> None:
        """Start qemu, watched (v2s_qemu.lifeline): a killed lab takes its guests with it."""
        while (item := self._spawn_q.get()) is not None:
            argv, env, reply = item
            try:
                reply.put(lifeline.spawn(
                    argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                    stderr=subprocess.PIPE, env=env,
                ))  # fmt: skip
            except OSError as exc:
                reply.put(exc)

    def _reaper(self) -> None:
        """Stop the guests of servers that are no longer running."""
        while not self._stop.wait(1.0):
            for sid in list(self._procs):
                try:
                    running = self.is_running(sid)
                except Exception:
                    running = False
                if not running:
                    self.stop_server(sid)

    def _boot(self, server_id: str, disks: list[Path], rec: BootRecord) -> None:
        run_dir = self.work_dir / server_id
        run_dir.mkdir(parents=True, exist_ok=True)
        (run_dir / "console.log").touch()
        forwards = {g: _free_port() for g in self.ports}
        relays = {g: self.relay(server_id, g) for g in self.ports}
        argv = qemu_argv(disks, "scaleway", "efi", run_dir, accelerator(), forwards,
                         self.memory_mb)
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "TMPDIR": str(run_dir)}
        reply: queue.Queue[Any] = queue.Queue()
        self._spawn_q.put((argv, env, reply))
        got = reply.get(timeout=30)
        if isinstance(got, BaseException):
            raise got
        with self._lock:
            self._procs[server_id] = got
        proc: subprocess.Popen[bytes] = got.proc
        start = time.monotonic()
        answered: set[int] = set()
        while True:
            text = ANSI_RE.sub("", (run_dir / "console.log").read_text(errors="replace"))
            rec.seconds = round(time.monotonic() - start, 1)
            rec.console_tail = "\n".join(text.splitlines()[-15:])
            markers = _MARKER_LINE.findall(text)
            if markers:
                rec.marker = markers[-1].strip()
            for pattern, why in FATAL:
                if pattern.search(text):
                    raise RuntimeError(why)
            found = list(MARKER_RE.finditer(text))
            m = found[-1] if found else None
            if m is not None and m["ipv4"] == "none":
                raise RuntimeError("guest up but no IPv4 address")
            for g, fwd in forwards.items():
                if g not in answered and _banner(fwd):
                    answered.add(g)
                    relays[g].open(fwd)
                    rec.ports[g] = relays[g].port
            if len(answered) == len(forwards) and (m is not None or LOGIN_RE.search(text)):
                rec.state, rec.reason = "up", "booted; ports answer"
                return
            if proc.poll() is not None or server_id not in self._procs:
                raise RuntimeError("qemu stopped before the guest was up")
            if rec.seconds > self.timeout:
                raise RuntimeError(f"not up after {self.timeout:.0f} s")
            if self._stop.wait(1.0):
                raise RuntimeError("lab closed")


class _Handler(BaseHTTPRequestHandler):
    server: ThreadingHTTPServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _reply(self, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        boots: GuestBoots = self.server.boots  # type: ignore[attr-defined]
        parts = [p for p in self.path.split("?")[0].split("/") if p]
        if parts == ["boots"]:
            self._reply(200, {k: r.to_json() for k, r in boots.records.items()})
        elif len(parts) == 3 and parts[0] == "tcp" and parts[2].isdigit():
            port = int(parts[2])
            if port not in boots.ports:
                self._reply(404, {"message": f"the lab forwards only ports {list(boots.ports)}"})
                return
            self._reply(200, {"host": "127.0.0.1", "port": boots.relay(parts[1], port).port})
        else:
            self._reply(404, {"message": "unknown path"})
