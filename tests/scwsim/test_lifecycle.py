"""The simulator starts fast and leaves nothing behind (threads, port, data directory)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests

from tests.lab.s3 import MotoS3Server
from tests.lab.scwsim import Simulator

ROOT = Path(__file__).resolve().parents[2]


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def test_start_under_10s_and_stop_cleans_up(s3_server: MotoS3Server) -> None:
    before = {t.ident for t in threading.enumerate()}
    t0 = time.monotonic()
    sim = Simulator(s3_endpoint=s3_server.endpoint_url).start()
    started = time.monotonic() - t0
    try:
        assert started < 10
        assert sim.data_dir is not None and sim.data_dir.is_dir()
        data_dir, port = sim.data_dir, sim.port
        assert _port_open(port)
        idle = requests.Session()  # a keep-alive connection left open by a client
        r = idle.get(
            f"{sim.url}/instance/v1/zones/fr-par-1/servers",
            headers={"X-Auth-Token": sim.account.secret_key},
            timeout=5,
        )
        assert r.status_code == 200
    finally:
        t1 = time.monotonic()
        sim.stop()
        assert time.monotonic() - t1 < 5
    assert not data_dir.exists()
    assert not _port_open(port)
    assert {t.ident for t in threading.enumerate()} <= before
    sim.stop()  # idempotent


def test_stop_after_a_failure_inside_the_block(s3_server: MotoS3Server) -> None:
    data_dir = None
    try:
        with Simulator(s3_endpoint=s3_server.endpoint_url) as sim:
            data_dir = sim.data_dir
            raise RuntimeError("test failure")
    except RuntimeError:
        pass
    assert data_dir is not None and not data_dir.exists()


def test_cli_serves_until_sigterm(s3_server: MotoS3Server) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.lab.scwsim", "--s3-endpoint", s3_server.endpoint_url],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        start_new_session=True,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert first.startswith("Scaleway API simulator: http://127.0.0.1:")
        url = first.split(": ", 1)[1].strip()
        env = dict(
            line.removeprefix("export ").strip().split("=", 1)
            for line in (proc.stdout.readline() for _ in range(7))
        )
        assert env["SCW_API_URL"] == url
        r = requests.get(
            f"{url}/instance/v1/zones/fr-par-1/products/servers",
            headers={"X-Auth-Token": env["SCW_SECRET_KEY"]},
            timeout=10,
        )
        assert r.status_code == 200 and "DEV1-S" in r.json()["servers"]
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
        port = int(url.rsplit(":", 1)[1])
        assert not _port_open(port)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
