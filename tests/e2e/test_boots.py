"""The lab's verify_tcp glue: a relay port refuses until the guest answers, then pipes;
the resolver endpoint tells the Scaleway provider where a server's port is reachable."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.lab.boots import GuestBoots, Relay


@pytest.fixture
def fake_sshd() -> Iterator[int]:
    """A loopback server that greets like sshd and echoes one line."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(4)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = srv.accept()
            except OSError:
                return
            with conn:
                conn.sendall(b"SSH-2.0-OpenSSH_9.2\r\n")
                conn.sendall(conn.recv(100))

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    yield int(srv.getsockname()[1])
    stop.set()
    srv.close()


def test_relay_refuses_until_opened_then_pipes(fake_sshd: int) -> None:
    relay = Relay()
    try:
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", relay.port), timeout=2)
        relay.open(fake_sshd)
        with socket.create_connection(("127.0.0.1", relay.port), timeout=5) as s:
            s.settimeout(5)
            assert s.recv(100).startswith(b"SSH-2.0-")
            s.sendall(b"hello\n")
            assert s.recv(100) == b"hello\n"
    finally:
        relay.close()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", relay.port), timeout=2)


def test_resolver_endpoint(tmp_path: Path) -> None:
    boots = GuestBoots(tmp_path / "boots", ports=(22,)).start()
    try:
        url = boots.resolver_template.format(server_id="srv-1", port=22)
        got = requests.get(url, timeout=5).json()
        assert got["host"] == "127.0.0.1"
        assert got["port"] == boots.relay("srv-1", 22).port  # the same reserved port
        assert requests.get(boots.resolver_template.format(server_id="srv-1", port=80),
                            timeout=5).status_code == 404
        assert requests.get(boots.url + "/boots", timeout=5).json() == {}
    finally:
        boots.close()
    assert boots.pids() == []


def test_a_server_without_data_is_reported_not_booted(tmp_path: Path) -> None:
    class Info:
        server_id, name, root_volume_path = "srv-2", "web-01", None

    boots = GuestBoots(tmp_path / "boots").start()
    try:
        rec = boots.hook(Info())
        assert rec.state == "failed" and "no data" in rec.reason
    finally:
        boots.close()
