"""The simulator's HTTP server and the ``Simulator`` context manager that owns it.

A ``ThreadingHTTPServer`` on 127.0.0.1 (free port) routes Block and Instance
calls to their handlers under the store lock, after fault injection and
``X-Auth-Token`` checks. ``Simulator`` also owns the clock ticker, import
workers, the boot hook threads, the migration hosts' metadata services and a 0700
data directory (volume data, hosts' device directories) removed at stop.
"""

from __future__ import annotations

import contextlib
import json
import logging
import shutil
import socket
import struct
import tempfile
import threading
import time
import traceback
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

from . import block, images, instance, ipam, ips, network
from .errors import ApiError, denied_authentication, invalid_request, rate_limited
from .faults import Faults
from .hosts import Host, Hosts
from .importer import ObjectStorage, S3Config
from .store import Account, BootInfo, Clock, Store, Timings
from .wire import Reply, Request, Router

log = logging.getLogger("scwsim")
BootHook = Callable[[BootInfo], Any]
ENVOY_503 = b"upstream connect error or disconnect/reset before headers. reset reason: overflow"


def build_router() -> Router:
    router = Router()
    block.register(router)
    images.register(router)
    instance.register(router)
    ips.register(router)
    ipam.register(router)
    network.register(router)
    return router


class _HTTPServer(ThreadingHTTPServer):
    """Tracks open connections so that stop() can close idle keep-alive ones."""

    daemon_threads = False  # server_close() joins the handler threads
    allow_reuse_address = True
    sim: Simulator

    def __init__(self, address: tuple[str, int]) -> None:
        super().__init__(address, _Handler)
        self.open_connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()

    def process_request(self, request: Any, client_address: Any) -> None:
        with self.connections_lock:
            self.open_connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self.connections_lock:
            self.open_connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        with self.connections_lock:
            for conn in self.open_connections:
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _HTTPServer

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s " + format, self.address_string(), *args)

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PATCH(self) -> None:
        self._handle("PATCH")

    def do_PUT(self) -> None:
        self._handle("PUT")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    def _handle(self, method: str) -> None:
        sim = self.server.sim
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        url = urlsplit(self.path)
        path = url.path.rstrip("/") or "/"
        query = parse_qs(url.query, keep_blank_values=True)
        sim.store.tick()
        if not path.startswith("/_sim/"):
            outcome, delay = sim.faults.decide(method, path)
            if delay:
                time.sleep(delay)
            if outcome == "reset":
                sim.record(method, path, 0)
                self._reset()
                return
            if outcome == "429":
                self._send(method, path, _error_reply(rate_limited()))
                return
            if outcome == "503":
                self._send_503(method, path)
                return
        try:
            reply = self._dispatch(method, path, query, raw)
        except ApiError as err:
            reply = _error_reply(err)
        except Exception as exc:  # a simulator bug: answer 500 and keep it for the tests
            sim.internal_errors.append(f"{method} {path}: {traceback.format_exc()}")
            reply = Reply(500, {"type": "internal_error", "message": f"simulator bug: {exc}"})
        self._send(method, path, reply)

    def _dispatch(self, method: str, path: str, query: dict[str, list[str]], raw: bytes) -> Reply:
        sim = self.server.sim
        token = self.headers.get("X-Auth-Token")
        if not token:
            raise denied_authentication("invalid_argument")
        if token != sim.account.secret_key:
            raise denied_authentication("not_found")
        try:
            body = json.loads(raw) if raw.strip() else None
        except ValueError:
            raise invalid_request("the request body is not valid JSON") from None
        if path.startswith("/_sim/"):
            return sim.admin(method, path, body)
        handler, params, api, locked = sim.router.match(method, path)
        req = Request(method, path, params, query, body)
        if locked:
            with sim.store.lock:
                sim.store.tick()
                reply = handler(sim.store, req)
        else:
            reply = handler(sim.store, req)
        reply.api = api
        return reply

    def _send(self, method: str, path: str, reply: Reply) -> None:
        payload = reply.encode()
        self.send_response(reply.status)
        if reply.status != 429:  # the gateway's 429 has no Content-Type
            self.send_header("Content-Type", "application/json")
        for k, v in reply.headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if method != "HEAD":
            self.wfile.write(payload)
        self.server.sim.record(method, path, reply.status)

    def _send_503(self, method: str, path: str) -> None:
        sim = self.server.sim
        if sim.faults.body_503 == "json":
            body = {"type": "service_unavailable", "message": "service unavailable"}
            self._send(method, path, Reply(503, body))
            return
        self.send_response(503)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(ENVOY_503)))
        self.end_headers()
        self.wfile.write(ENVOY_503)
        sim.record(method, path, 503)

    def _reset(self) -> None:
        """Abort the connection with a TCP RST (SO_LINGER 0, then close)."""
        self.close_connection = True
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.rfile.close()
        self.connection.close()


def _error_reply(err: ApiError) -> Reply:
    return Reply(err.status, err.body, dict(err.headers))


class Simulator:
    """The Scaleway API simulator; ``with Simulator(s3_endpoint=...) as sim: sim.url``."""

    def __init__(
        self,
        *,
        s3_endpoint: str | None = None,
        s3_endpoints: dict[str, str] | None = None,
        s3_access_key: str = "lab-access-key",
        s3_secret_key: str = "lab-secret-key",
        s3_verify: str | bool = True,
        speed: float = 1.0,
        timings: Timings | None = None,
        account: Account | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        boot_hook: BootHook | None = None,
        faults: Faults | None = None,
        availability: dict[str, str] | None = None,
        quotas: dict[str, int] | None = None,
        qemu_img: str = "qemu-img",
        worker_timeout: float = 900.0,
        import_rate: float | None = None,
    ) -> None:
        endpoints = dict(s3_endpoints or {})
        if s3_endpoint:
            for region in ("fr-par", "nl-ams", "pl-waw", "it-mil"):
                endpoints.setdefault(region, s3_endpoint)
        self.s3 = S3Config(endpoints, s3_access_key, s3_secret_key, s3_verify, import_rate)
        self.clock = Clock(speed)
        self.timings = timings or Timings()
        self.account = account or Account()
        self.host, self.port = host, port
        self.boot_hook = boot_hook
        self.faults = faults or Faults()
        self.availability = availability
        self.quotas = dict(quotas or {})
        self.qemu_img = qemu_img
        self.worker_timeout = worker_timeout  # how long stop() waits for imports and hooks
        self.router = build_router()
        self.internal_errors: list[str] = []
        self.log: list[tuple[str, str, int]] = []
        self.boot_results: dict[str, Any] = {}
        self.data_dir: Path | None = None
        self._store: Store | None = None
        self._hosts: Hosts | None = None
        self._httpd: _HTTPServer | None = None
        self._threads: list[threading.Thread] = []
        self._workers: list[threading.Thread] = []
        self._workers_lock = threading.Lock()
        self._stop = threading.Event()

    # -- life cycle -------------------------------------------------------------
    @property
    def store(self) -> Store:
        if self._store is None:
            raise RuntimeError("the simulator is not started")
        return self._store

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> Simulator:
        from .catalogue import DEFAULT_AVAILABILITY

        self.data_dir = Path(tempfile.mkdtemp(prefix="v2s-scwsim-"))
        self.data_dir.chmod(0o700)
        try:
            store = Store(self.clock, self.timings, self.account, self.data_dir)
            store.availability = dict(DEFAULT_AVAILABILITY) | (self.availability or {})
            store.quotas = self.quotas
            store.objects = ObjectStorage(self.s3) if self.s3.endpoints else None
            store.spawn = self._spawn
            store.qemu_img = self.qemu_img
            store.on_running = self._on_running
            images.seed_marketplace(store)
            self._store = store
            self._hosts = Hosts(store, self.data_dir / "hosts")
            store.on_volumes = self._hosts.sync
            self._httpd = _HTTPServer((self.host, self.port))
            self._httpd.sim = self
            self.port = int(self._httpd.server_address[1])
            self._stop.clear()
            httpd = self._httpd
            for target in (lambda: httpd.serve_forever(poll_interval=0.05), self._tick_loop):
                t = threading.Thread(target=target, name="scwsim", daemon=True)
                t.start()
                self._threads.append(t)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop serving, wait for workers, remove the data directory (idempotent)."""
        self._stop.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.close_connections()
            self._httpd.server_close()
            self._httpd = None
        if self._hosts is not None:
            self._hosts.close()
        for t in self._threads:
            t.join(timeout=10)
        self.wait_workers(self.worker_timeout)
        self._threads = []
        if self.data_dir is not None:
            shutil.rmtree(self.data_dir, ignore_errors=True)
            self.data_dir = None

    def __enter__(self) -> Simulator:
        return self.start()

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def _tick_loop(self) -> None:
        while not self._stop.wait(0.05):
            self.store.tick()

    def _spawn(self, fn: Callable[[], None]) -> None:
        t = threading.Thread(target=fn, name="scwsim-worker", daemon=True)
        with self._workers_lock:
            self._workers = [w for w in self._workers if w.is_alive()] + [t]
            t.start()

    # -- test controls ----------------------------------------------------------
    def record(self, method: str, path: str, status: int) -> None:
        self.log.append((method, path, status))
        del self.log[:-10000]

    def set_faults(self, faults: Faults | None) -> None:
        self.faults = faults or Faults()

    def advance(self, seconds: float) -> None:
        """Move the simulated clock forward and fire what became due."""
        self.clock.advance(seconds)
        self.store.tick()

    def wait_workers(self, timeout: float = 60) -> None:
        """Wait for import downloads and boot hooks to finish."""
        deadline = time.monotonic() + timeout
        while True:  # a worker may start another (an import, then a boot hook)
            with self._workers_lock:
                alive = [w for w in self._workers if w.is_alive()]
            if not alive or time.monotonic() >= deadline:
                return
            for t in alive:
                t.join(timeout=max(0.0, deadline - time.monotonic()))

    def boot_info(self, server_id: str) -> BootInfo:
        """The server's volumes as local files, in index order (None: a volume without data)."""
        with self.store.lock:
            srv = self.store.servers[server_id]
            keys = sorted(srv["volumes"], key=int)
            paths = {k: self.store.data_path.get(srv["volumes"][k]) for k in keys}
            root = srv["volumes"].get("0")
            return BootInfo(
                server_id, srv["name"], srv["zone"], srv["commercial_type"], root,
                paths.get("0"), paths,
            )  # fmt: skip

    def root_volume_path(self, server_id: str) -> Path | None:
        return self.boot_info(server_id).root_volume_path

    # -- migration hosts --------------------------------------------------------
    @property
    def hosts(self) -> Hosts:
        if self._hosts is None:
            raise RuntimeError("the simulator is not started")
        return self._hosts

    def add_host(self, server_id: str) -> Host:
        """Mark an existing server as a migration host (metadata service, device dir)."""
        return self.hosts.add(server_id)

    def create_host(
        self, name: str = "v2s-host", zone: str = "fr-par-1", commercial_type: str = "PRO2-S",
        root_size: int = 10 * block.GB,
    ) -> Host:  # fmt: skip
        """A running server on an empty Block root volume, marked as a host (no boot hook)."""
        body = {
            "name": name, "commercial_type": commercial_type, "dynamic_ip_required": False,
            "volumes": {"0": {"volume_type": "sbs_volume", "size": root_size}},
            "tags": ["v2s-lab-host"],
        }  # fmt: skip
        req = Request("POST", f"/instance/v1/zones/{zone}/servers", {"zone": zone}, {}, body)
        with self.store.lock:
            srv = instance.create_server(self.store, req).body["server"]
            instance.mark_running(self.store, self.store.servers[srv["id"]])
        return self.add_host(srv["id"])

    def _on_running(self, server_id: str) -> None:
        hook = self.boot_hook
        if hook is None or self.hosts.get(server_id) is not None:  # a host is already up
            return
        info = self.boot_info(server_id)

        def run() -> None:
            try:
                self.boot_results[server_id] = hook(info)
            except Exception as exc:  # the hook's failure is the test's business
                self.boot_results[server_id] = exc

        self._spawn(run)

    def client(self, **overrides: Any) -> Any:
        """A ``scaleway.Client`` pointed at this simulator."""
        from scaleway import Client

        args = {
            "access_key": self.account.access_key,
            "secret_key": self.account.secret_key,
            "default_project_id": self.account.project_id,
            "default_organization_id": self.account.organization_id,
            "default_region": "fr-par",
            "default_zone": "fr-par-1",
            "api_url": self.url,
        } | overrides
        return Client(**args)

    @property
    def env(self) -> dict[str, str]:
        """SCW_* variables that point the SDK (and v2s) at this simulator."""
        return {
            "SCW_ACCESS_KEY": self.account.access_key,
            "SCW_SECRET_KEY": self.account.secret_key,
            "SCW_API_URL": self.url,
            "SCW_DEFAULT_PROJECT_ID": self.account.project_id,
            "SCW_DEFAULT_ORGANIZATION_ID": self.account.organization_id,
            "SCW_DEFAULT_REGION": "fr-par",
            "SCW_DEFAULT_ZONE": "fr-par-1",
        }

    def admin(self, method: str, path: str, body: Any) -> Reply:
        """``/_sim/faults`` (POST set, DELETE clear), ``/_sim/clock`` (POST advance/speed),
        ``/_sim/hosts`` (POST: a new migration host or mark ``server_id``; GET: all),
        ``/_sim/servers/<id>`` (GET: local paths of its volumes, boot hook result)."""
        if path == "/_sim/faults" and method == "POST":
            try:
                self.set_faults(Faults.from_json(body or {}))
            except (TypeError, ValueError) as exc:
                raise invalid_request(str(exc)) from None
            return Reply(200, {"faults": "set"})
        if path == "/_sim/faults" and method == "DELETE":
            self.set_faults(None)
            return Reply(204)
        if path == "/_sim/clock" and method == "POST":
            body = body or {}
            if "speed" in body:
                self.clock.set_speed(float(body["speed"]))
            self.advance(float(body.get("advance", 0)))
            return Reply(200, {"now": self.clock.instance_ts()})
        if path == "/_sim/hosts" and method == "POST":  # a new host, or mark a server
            body = body or {}
            if body.get("server_id"):
                if body["server_id"] not in self.store.servers:
                    raise ApiError(404, {"type": "not_found", "message": "unknown server"})
                host = self.add_host(str(body["server_id"]))
            else:
                host = self.create_host(str(body.get("name") or "v2s-host"),
                                        str(body.get("zone") or "fr-par-1"))  # fmt: skip
            return Reply(200, {"server_id": host.server_id, "env": host.env})
        if path == "/_sim/hosts" and method == "GET":
            hosts = [{"server_id": h.server_id, "env": h.env} for h in self.hosts.all()]
            return Reply(200, {"hosts": hosts})
        if path.startswith("/_sim/servers/") and method == "GET":
            server_id = path.rsplit("/", 1)[1]
            with self.store.lock:
                if server_id not in self.store.servers:
                    raise ApiError(404, {"type": "not_found", "message": "unknown server"})
                info = self.boot_info(server_id)
            result = self.boot_results.get(server_id)
            return Reply(200, {
                "root_volume_id": info.root_volume_id,
                "root_volume_path": str(info.root_volume_path or "") or None,
                "volume_paths": {k: str(v) if v else None for k, v in info.volume_paths.items()},
                "boot_result": None if result is None else repr(result),
            })  # fmt: skip
        raise ApiError(404, {"type": "not_found", "message": "unknown simulator endpoint"})
