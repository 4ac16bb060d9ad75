"""An HTTP proxy that loses requests and answers on purpose, in front of the lab's S3 server.

Each request draws one outcome from a seeded ``random.Random``: ``503`` (answered
by the proxy, never forwarded), ``reset-before`` (the connection is reset before the
request reaches the server), ``reset-after`` (the server processed it; the answer is
lost in a reset) or ``ok``. ``script`` forces the next outcomes of the requests that
``match`` selects, before any draw. Plain HTTP only (the client signs the proxy's host).
"""

from __future__ import annotations

import contextlib
import http.client
import random
import socket
import struct
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal
from urllib.parse import urlsplit

Outcome = Literal["ok", "503", "reset-before", "reset-after"]
FAULTS: tuple[Outcome, ...] = ("503", "reset-before", "reset-after")
_HOP = frozenset({"connection", "keep-alive", "transfer-encoding", "proxy-connection"})
_BUSY = (b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>ServiceUnavailable</Code>'
         b"<Message>injected by the lab fault proxy</Message></Error>")


class FaultProxy:
    """Forward to ``upstream`` (``http://host:port``), failing ``rate`` of the requests."""

    def __init__(self, upstream: str, *, rate: float = 0.1, seed: int = 0,
                 match: Callable[[str, str], bool] | None = None) -> None:
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"the fault rate is a probability in [0, 1], got {rate}")
        url = urlsplit(upstream)
        if url.scheme != "http" or not url.hostname or not url.port:
            raise ValueError(f"the fault proxy forwards to http://host:port, got {upstream!r}")
        self.upstream = (url.hostname, url.port)
        self.rate = rate
        self.match = match or (lambda _method, _path: True)
        self.script: list[Outcome] = []
        self.counts: dict[Outcome, int] = {"ok": 0, "503": 0, "reset-before": 0,
                                           "reset-after": 0}
        self._rng = random.Random(seed)
        self._mu = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        name="v2s-fault-proxy", daemon=True)

    @property
    def endpoint_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def decide(self, method: str, path: str) -> Outcome:
        """The outcome for one request (counted when ``match`` selects it)."""
        if not self.match(method, path):
            return "ok"
        with self._mu:
            if self.script:
                outcome: Outcome = self.script.pop(0)
            elif self._rng.random() < self.rate:
                outcome = self._rng.choice(FAULTS)
            else:
                outcome = "ok"
            self.counts[outcome] += 1
            return outcome

    @property
    def faults(self) -> int:
        """How many requests were failed so far."""
        return sum(n for k, n in self.counts.items() if k != "ok")

    def __enter__(self) -> FaultProxy:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)


def _handler(proxy: FaultProxy) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        upstream: http.client.HTTPConnection | None = None

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the tests count outcomes instead."""

        def _any(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            outcome = proxy.decide(self.command, self.path)
            if outcome == "reset-before":
                self._reset()
                return
            if outcome == "503":
                self._answer(503, [("Content-Type", "application/xml")], _BUSY)
                return
            status, headers, data = self._forward(body)
            if outcome == "reset-after":
                self._reset()
                return
            self._answer(status, headers, data)

        do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _any  # noqa: N815

        def _forward(self, body: bytes | None) -> tuple[int, list[tuple[str, str]], bytes]:
            if self.upstream is None:
                self.upstream = http.client.HTTPConnection(*proxy.upstream, timeout=60)
            headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP}
            try:
                self.upstream.request(self.command, self.path, body=body, headers=headers)
                res = self.upstream.getresponse()
                data = res.read()
            except (OSError, http.client.HTTPException):
                self.upstream.close()  # a stale pooled connection: once more on a new one
                self.upstream.request(self.command, self.path, body=body, headers=headers)
                res = self.upstream.getresponse()
                data = res.read()
            kept = [(k, v) for k, v in res.getheaders() if k.lower() not in _HOP]
            return res.status, kept, data

        def _answer(self, status: int, headers: list[tuple[str, str]], data: bytes) -> None:
            self.send_response_only(status)
            for k, v in headers:
                if k.lower() != "content-length" or self.command == "HEAD":
                    self.send_header(k, v)
            if self.command != "HEAD":
                self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)
            self.wfile.flush()

        def _reset(self) -> None:
            """Abort the client's connection with a TCP reset (SO_LINGER 0, then close)."""
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            self.connection.close()

        def finish(self) -> None:
            if self.upstream is not None:
                self.upstream.close()
            with contextlib.suppress(OSError):  # the connection was reset on purpose
                super().finish()

    return Handler
