"""The whole local lab in one context manager: vCenter, S3, Scaleway, a real guest.

``with Lab() as lab:`` starts vcsim, a moto S3 server and the Scaleway API simulator
on free loopback ports, loads the lab guest's VMDK as the VM ``web-server-01``
(VMware-style: BIOS, a vmxnet3 NIC on "VM Network", guest ``debian12_64Guest``) and
boots simulator servers under qemu (:mod:`tests.lab.boots`) so ``verify: {tcp: [22]}``
runs against the migrated guest. A simulator server ``v2s-lab-host`` stands for the machine
``v2s`` runs on (a migration host: metadata service and device directory, ``lab.host``;
``lab.add_host()`` makes more). ``link_rate`` (bytes/s, off by default) models a real
link for S3 uploads, snapshot imports, device-path writes (and vcsim reads, unless
``vcsim_read_mibps`` says otherwise). ``lab.write_config()``
writes a ``v2s.yaml`` pointing at all of it; ``lab.env`` is the environment ``v2s``
needs (credentials stay there, not in the file). Leaving the block (normally, on error
or Ctrl-C) stops every process and removes every temporary directory.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Any

import yaml

from tests.lab.boots import GuestBoots
from tests.lab.s3 import ACCESS_KEY, SECRET_KEY, MotoS3Server
from tests.lab.scwsim import Simulator
from tests.lab.scwsim.hosts import Host
from tests.lab.vcsim import Vcsim

VM_NAME = "web-server-01"
MIGRATION = "web-01"
BUCKET = "v2s-lab-transit"
SERVER_TYPE = "DEV1-S"
GUEST_VARIANT = "bios"
_SIM_KINDS = ("snapshots", "images", "servers", "volumes", "ips")
_DISK_SUFFIXES = {".qcow2", ".raw", ".vmdk", ".img", ".flat"}  # disk data in the work dir
HOST_NAME = "v2s-lab-host"
DEVICE_RATE_ENV = "V2S_SCW_DEVICE_WRITE_RATE"  # bytes/s a lab writer paces device writes to


class Lab:
    """vcsim + moto + the Scaleway simulator + qemu boots; see the module docstring."""

    def __init__(
        self,
        root: Path | None = None,
        *,
        variant: str = GUEST_VARIANT,
        vm_name: str = VM_NAME,
        boot_ports: tuple[int, ...] = (22,),
        sim_speed: float = 5.0,
        load_guest: bool = True,
        vcsim_read_mibps: float | None = None,
        link_rate: float | None = None,
    ) -> None:
        self._root_arg = root
        self.variant = variant
        self.vm_name = vm_name
        self.boot_ports = boot_ports
        self.sim_speed = sim_speed
        self.load_guest = load_guest
        self.link_rate = link_rate
        # None: link_rate, else V2S_LAB_VCSIM_READ_MIBPS from the environment, else no limit
        self.vcsim_read_limit = (link_rate if vcsim_read_mibps is None
                                 else vcsim_read_mibps * (1 << 20))
        self.root: Path = Path()
        self.guest: Any = None
        self.vm_moref = ""
        self.timings: dict[str, float] = {}
        self._stack: contextlib.ExitStack | None = None
        self._baseline: dict[str, set[str]] = {}
        self._janitor: _Janitor | None = None
        self.vc: Vcsim
        self.s3: MotoS3Server
        self.sim: Simulator
        self.boots: GuestBoots
        self.host: Host

    # -- life cycle ---------------------------------------------------------------
    def start(self) -> Lab:
        stack = contextlib.ExitStack()
        self._stack = stack
        try:
            t0 = time.monotonic()
            janitor = self._janitor = stack.enter_context(_Janitor())  # closed last
            if self._root_arg is None:
                self.root = Path(tempfile.mkdtemp(prefix="v2s-lab-"))
                janitor.watch(self.root)
                stack.callback(shutil.rmtree, self.root, True)
            else:
                self.root = self._root_arg
                self.root.mkdir(parents=True, exist_ok=True)
            self.root.chmod(0o700)
            if self.load_guest:
                from tests.lab.guest.build import build_guest

                self.guest = build_guest(self.variant)
                self.timings["guest"] = time.monotonic() - t0
            t1 = time.monotonic()
            self.vc = stack.enter_context(Vcsim(read_limit=self.vcsim_read_limit))
            self.s3 = stack.enter_context(MotoS3Server(upload_rate=self.link_rate))
            self.boots = GuestBoots(self.root / "boots", ports=self.boot_ports,
                                    is_running=self._server_running)
            stack.callback(self.boots.close)  # after the simulator: its hooks end first
            self.sim = stack.enter_context(Simulator(
                s3_endpoint=self.s3.endpoint_url, s3_access_key=ACCESS_KEY,
                s3_secret_key=SECRET_KEY, speed=self.sim_speed, boot_hook=self.boots.hook,
                worker_timeout=30.0, import_rate=self.link_rate))  # fmt: skip
            self.boots.start()
            self.host = self.sim.create_host(HOST_NAME)
            self._baseline = self._sim_ids()  # marketplace images, the migration host
            if self.sim.data_dir is not None:
                janitor.watch(self.sim.data_dir)
            self.timings["services"] = time.monotonic() - t1
            if self.load_guest:
                t2 = time.monotonic()
                self._load_vm()
                self.timings["scenario"] = time.monotonic() - t2
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop everything started (idempotent); the boots stop before the simulator."""
        stack, self._stack = self._stack, None
        if stack is not None:
            with _no_interrupts():
                if hasattr(self, "boots"):
                    self.boots.close()
                stack.close()

    def __enter__(self) -> Lab:
        return self.start()

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # -- set-up pieces ------------------------------------------------------------
    def _load_vm(self) -> None:
        from tests.lab.scenario import VM, Disk, Nic, load

        assert self.guest is not None
        disk = Disk(vmdk=self.guest.descriptors[0])
        vm = VM(name=self.vm_name, guest_id="debian12_64Guest", firmware=self.guest.firmware,
                cpus=1, memory_mb=1024, controller="pvscsi", disks=(disk,),
                nics=(Nic(adapter="vmxnet3", network="VM Network"),), power_on=True)
        loaded = load(self.vc, [vm])
        self.vm_moref = loaded.morefs[self.vm_name]

    def guest_write(self, offset: int, data: bytes, *, disk_key: int = 2000) -> str:
        """Bytes the running source VM's guest writes to its disk; the new change id."""
        return self.vc.guest_write(self.vm_moref, disk_key, offset, data)

    def add_host(self, name: str) -> Host:
        """Another migration host (e.g. one per Dask worker); ``host.env`` is its env."""
        host = self.sim.create_host(name)
        now = self._sim_ids()
        self._baseline = {k: v | now[k] for k, v in self._baseline.items()}
        return host

    def _server_running(self, server_id: str) -> bool:
        with self.sim.store.lock:
            srv = self.sim.store.servers.get(server_id)
            return srv is not None and srv.get("state") == "running"

    # -- what v2s needs -----------------------------------------------------------
    @property
    def env(self) -> dict[str, str]:
        """Variables for a ``v2s`` process: Scaleway credentials, the vCenter password, and
        the migration host it runs on (``V2S_SCW_METADATA_URL``, ``V2S_SCW_DEVICE_DIR``)."""
        env = {
            **self.sim.env,
            **self.host.env,
            "SCW_CONFIG_PATH": str(self.root / "no-scw-config.yaml"),
            "VSPHERE_PASSWORD": self.vc.password,
            "AWS_EC2_METADATA_DISABLED": "true",
        }
        if self.link_rate:
            env[DEVICE_RATE_ENV] = str(int(self.link_rate))
        return env

    def config(self, *, migration: str = MIGRATION, verify_boot: bool = False,
               tcp: tuple[int, ...] = (22,), server_type: str = SERVER_TYPE) -> dict[str, Any]:
        """The demo's desired-state file as data (no secrets in it)."""
        return {
            "v2s": 1,
            "providers": {
                "vmware": {
                    "url": self.vc.url,
                    "username": self.vc.username,
                    "password": "${env.VSPHERE_PASSWORD}",
                    "ca_file": str(self.vc.cert_file),
                    "datacenter": self.vc.datacenter,
                },
                "qemu": {},
                "scaleway": {
                    "zone": "fr-par-1",
                    "transit_bucket": BUCKET,
                    "s3_endpoint": self.s3.endpoint_url,
                    "s3_addressing_style": "path",
                    "poll_interval": 0.5,
                    "server_timeout": 600,
                    "verify_tcp_resolver": self.boots.resolver_template,
                },
            },
            "settings": {"work_dir": ".v2s"},
            "migrations": {
                migration: {
                    "source": {"vm": self.vm_name},
                    "target": {"type": server_type, "volume_type": "sbs_5k",
                               "tags": ["v2s-lab"], "drop_unmapped_nics": True},
                    "verify": {"boot": verify_boot, "tcp": list(tcp)},
                },
            },
        }

    def write_config(self, path: Path | None = None, **kwargs: Any) -> Path:
        """Write ``v2s.yaml`` (default: in the lab directory) and the lab's ``lab.env``."""
        path = path or self.root / "v2s.yaml"
        header = ("# Written by the v2s lab (tests/lab/lab.py); credentials come from lab.env:\n"
                  f"#   set -a; . {self.root / 'lab.env'}; set +a\n")
        path.write_text(header + yaml.safe_dump(self.config(**kwargs), sort_keys=False))
        env_file = self.root / "lab.env"
        env_file.write_text("".join(f"{k}={v}\n" for k, v in sorted(self.env.items())))
        env_file.chmod(0o600)
        return path

    def describe(self) -> dict[str, Any]:
        """Endpoints and files of the running lab (for `python -m tests.lab status`)."""
        return {
            "pid": os.getpid(),
            "root": str(self.root),
            "config": str(self.root / "v2s.yaml"),
            "env_file": str(self.root / "lab.env"),
            "vcenter": self.vc.url,
            "vcenter_ca_file": str(self.vc.cert_file),
            "s3": self.s3.endpoint_url,
            "scaleway_api": self.sim.url,
            "boots": self.boots.url,
            "simulator_dir": str(self.sim.data_dir),
            "migration_hosts": [
                {"server_id": h.server_id, **h.env} for h in self.sim.hosts.all()
            ],
            "vm": self.vm_name,
            "guest": str(self.guest.directory) if self.guest is not None else None,
            "processes": self.pids(),
        }

    def pids(self) -> dict[str, list[int]]:
        """Every process the lab runs (vcsim, moto, qemu boots)."""
        out = {"vcsim": [], "moto": [], "qemu": self.boots.pids(), "janitor": []}
        if self._janitor is not None and self._janitor.proc.poll() is None:
            out["janitor"].append(self._janitor.proc.pid)
        if self.vc._proc is not None and self.vc._proc.poll() is None:
            out["vcsim"].append(self.vc._proc.pid)
        if self.s3.proc is not None and self.s3.proc.poll() is None:
            out["moto"].append(self.s3.proc.pid)
        return out

    # -- what is left -------------------------------------------------------------
    def _sim_ids(self) -> dict[str, set[str]]:
        with self.sim.store.lock:
            return {kind: set(getattr(self.sim.store, kind)) for kind in _SIM_KINDS}

    def leftovers(self, work_dir: Path | None = None) -> list[str]:
        """Objects v2s created that still exist: simulator resources, transit objects,
        disk data and resource folders' files in the work dir (logs, reports, state and
        the converter's appliance cache are kept on purpose), guests still running."""
        left: list[str] = []
        store = self.sim.store
        with store.lock:
            for kind in _SIM_KINDS:
                for oid, obj in getattr(store, kind).items():
                    if oid not in self._baseline.get(kind, set()):
                        left.append(f"scaleway {kind[:-1]} {oid} ({obj.get('name', '')})")
        client = self.s3.client()
        for b in client.list_buckets().get("Buckets", []):
            for o in client.list_objects_v2(Bucket=b["Name"]).get("Contents", []):
                left.append(f"s3 object s3://{b['Name']}/{o['Key']}")
            for u in client.list_multipart_uploads(Bucket=b["Name"]).get("Uploads", []):
                left.append(f"s3 multipart upload s3://{b['Name']}/{u['Key']}")
        if work_dir is not None and work_dir.is_dir():
            for p in sorted(work_dir.rglob("*")):
                if p.is_file() and (p.suffix in _DISK_SUFFIXES or p.name.endswith(".part")
                                    or "resources" in p.relative_to(work_dir).parts):
                    left.append(f"work dir file {p}")
        left += [f"qemu process {pid}" for pid in self.boots.pids()]
        return left


# A child that removes the lab's directories once its stdin closes: at a normal stop,
# and also when the lab process is killed (SIGKILL runs no Python cleanup).
_JANITOR = (
    "import shutil, sys\n"
    "for line in sys.stdin.read().splitlines():\n"
    "    if line:\n"
    "        shutil.rmtree(line, ignore_errors=True)\n"
)


class _Janitor:
    """Removes the directories it was told about when the lab ends, however it ends."""

    def __enter__(self) -> _Janitor:
        self.proc = subprocess.Popen([sys.executable, "-c", _JANITOR], stdin=subprocess.PIPE,
                                     start_new_session=True, text=True)
        return self

    def watch(self, path: Path) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(f"{path}\n")
        self.proc.stdin.flush()

    def __exit__(self, *exc: object) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@contextlib.contextmanager
def _no_interrupts() -> Iterator[None]:
    """Let teardown finish even when Ctrl-C is pressed again (main thread only)."""
    try:
        old = signal.signal(signal.SIGINT, signal.SIG_IGN)
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old)


def save_info(lab: Lab, path: Path) -> None:
    """Write the lab's description (JSON, mode 0600) for `status` and `down`."""
    path.write_text(json.dumps(lab.describe(), indent=2) + "\n")
    path.chmod(0o600)
