"""A Dask lab: mutual-TLS certificates, a scheduler process, `v2s worker` processes.

With ``sim`` (a Scaleway simulator), each worker is a distinct migration host of the
simulator: a server whose metadata service tells the worker its name, id and zone
(``V2S_SCW_METADATA_URL``), with its own device directory; without it, name and zone
are given as ``v2s worker`` options.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from distributed import Client
from distributed.security import Security


@dataclass(frozen=True)
class Certs:
    ca: Path
    cert: Path
    key: Path

    def executor(self, scheduler: str, base: Path) -> dict[str, Any]:
        """``settings.executor`` for a config in ``base``."""
        return {"type": "dask", "scheduler": scheduler, "connect_timeout": 5,
                "tls": {"ca_file": os.path.relpath(self.ca, base),
                        "cert": os.path.relpath(self.cert, base),
                        "key": os.path.relpath(self.key, base)}}


def make_certs(directory: Path) -> Certs:
    """A CA and one certificate it signed (used by scheduler, workers and clients)."""
    directory.mkdir(parents=True, exist_ok=True)
    ca, ca_key = directory / "ca.pem", directory / "ca.key"
    cert, key, csr = directory / "cert.pem", directory / "cert.key", directory / "cert.csr"
    run = ["openssl"]
    subprocess.run([*run, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                    "-nodes", "-keyout", str(ca_key), "-out", str(ca), "-days", "2",
                    "-subj", "/CN=v2s-lab-ca"], check=True, capture_output=True, timeout=60)
    subprocess.run([*run, "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                    "-nodes", "-keyout", str(key), "-out", str(csr), "-subj", "/CN=v2s-lab"],
                   check=True, capture_output=True, timeout=60)
    ext = directory / "ext.cnf"
    ext.write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    subprocess.run([*run, "x509", "-req", "-in", str(csr), "-CA", str(ca), "-CAkey", str(ca_key),
                    "-CAcreateserial", "-out", str(cert), "-days", "2", "-extfile", str(ext)],
                   check=True, capture_output=True, timeout=60)
    return Certs(ca, cert, key)


@dataclass
class DaskLab:
    """A `v2s scheduler` process (TLS, set for tasks of hours) and `v2s worker`s."""

    root: Path
    certs: Certs
    sim: Any = None  # tests.lab.scwsim.Simulator, started
    scheduler: subprocess.Popen[bytes] | None = None
    client: Client | None = None
    address: str = ""
    workers: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def start(self, timeout: float = 60) -> DaskLab:
        c = self.certs
        info = self.root / "scheduler.json"
        info.unlink(missing_ok=True)
        log = (self.root / "scheduler.log").open("wb")
        self.scheduler = subprocess.Popen(
            [sys.executable, "-m", "vmware2scw.cli", "scheduler", "--tls-ca", str(c.ca),
             "--tls-cert", str(c.cert), "--tls-key", str(c.key), "--listen", "127.0.0.1",
             "--port", "0", "--scheduler-file", str(info)],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        sec = Security(tls_ca_file=str(c.ca), tls_client_cert=str(c.cert),
                       tls_client_key=str(c.key), require_encryption=True)
        # the client waits for the scheduler to write its address to the file
        self.client = Client(scheduler_file=str(info), security=sec, set_as_default=False,
                             timeout=timeout)
        self.address = str(self.client.scheduler.address if self.client.scheduler else "")
        return self

    def add_worker(self, name: str, zone: str, *, attach_slots: int = 2,
                   convert: int = 2) -> subprocess.Popen[bytes]:
        """A `v2s worker` process: a simulator host named ``name`` in ``zone`` (it reads
        both from the host's metadata service), or given them as options."""
        c = self.certs
        log = (self.root / f"worker-{name}.log").open("wb")
        env: dict[str, str] = {}
        declared = ["--zone", zone, "--name", name]
        if self.sim is not None:
            env = dict(self.sim.create_host(name, zone=zone).env)
            declared = []
        proc = subprocess.Popen(
            [sys.executable, "-m", "vmware2scw.cli", "worker", "--scheduler", self.address,
             "--tls-ca", str(c.ca), "--tls-cert", str(c.cert), "--tls-key", str(c.key),
             *declared, "--attach-slots", str(attach_slots),
             "--convert", str(convert), "--work-dir", str(self.root / "hosts" / name),
             "--listen", "127.0.0.1"],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            env={**os.environ, **env})
        self.workers[name] = proc
        return proc

    def wait_workers(self, count: int, timeout: float = 90) -> None:
        assert self.client is not None
        self.client.wait_for_workers(count, timeout=timeout)

    def pid_of(self, name: str) -> int:
        return self.workers[name].pid

    def kill(self, name: str) -> None:
        proc = self.workers.pop(name)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)

    def busy(self) -> dict[str, int]:
        """Tasks each worker is running now (executing or seceded)."""
        assert self.client is not None

        def count(dask_worker: Any) -> int:
            st = dask_worker.state
            return len(st.executing) + len(st.long_running)

        return dict(self.client.run(count))

    def stop(self) -> None:
        for name in list(self.workers):
            proc = self.workers.pop(name)
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        if self.client is not None:
            self.client.close()
        if self.scheduler is not None:
            self.scheduler.terminate()
            try:
                self.scheduler.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.scheduler.kill()
                self.scheduler.wait(timeout=10)
