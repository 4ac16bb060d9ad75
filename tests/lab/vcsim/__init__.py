"""The lab's vCenter: vcsim built from Debian's govmomi simulator library and our main.go.

``build()`` compiles ``main.go`` once per input hash into
``.cache/vcsim-<hash>/v2s-vcsim`` (GOPATH mode, offline). ``Vcsim`` starts it on a
free port of 127.0.0.1 with its own certificate (ECDSA, SAN 127.0.0.1) and its
datastore directories inside a private temporary directory; leaving the context
closes the child's stdin (its lifeline), waits, and removes that directory.

Usage::

    with Vcsim() as vc:
        vc.url, vc.username, vc.password, vc.thumbprint, vc.cert_file
        vc.datastore_dir("LocalDS_0")          # where VMDKs go
        vc.patch("vm-42", "rdm")               # lab-only features (see main.go)
        vc.guest_write("vm-42", 2000, 4096, b"x" * 512)   # a running guest writes its disk

The simulator package is extended at build time with ``simext/*.go``: changed block
tracking (``QueryChangedDiskAreas``), NFC export (``ExportVm``/``ExportSnapshot``), a
vSAN-like datastore ``vsanDatastore`` and a read throughput limit (``read_limit``, or
``V2S_LAB_VCSIM_READ_MIBPS`` in the environment); see docs/lab.md.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import select
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Any

import requests

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
CACHE = Path(os.environ.get("V2S_CACHE", ROOT / ".cache"))
GOCODE = Path("/usr/share/gocode")
START_TIMEOUT = 10.0
BUILD_TIMEOUT = 900
DATACENTER = "DC0"
DATASTORE = "LocalDS_0"
VSAN_DATASTORE = "vsanDatastore"
READ_LIMIT_ENV = "V2S_LAB_VCSIM_READ_MIBPS"


class VcsimError(RuntimeError):
    """vcsim could not be built or started."""


def _tool_version() -> str:
    go = subprocess.run(["go", "version"], capture_output=True, text=True, check=False).stdout
    deb = subprocess.run(
        ["dpkg-query", "-W", "-f=${Version}", "golang-github-vmware-govmomi-dev"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    return f"{go.strip()}|govmomi={deb.strip()}"


def _sources() -> list[Path]:
    """main.go and the files added to the simulator package (simext/*.go)."""
    return [HERE / "main.go", *sorted((HERE / "simext").glob("*.go"))]


def input_hash() -> str:
    """Hash of everything the binary is built from (sources, Go and govmomi versions)."""
    h = hashlib.sha256()
    for src in _sources():
        h.update(src.name.encode() + b"\0" + src.read_bytes())
    h.update(_tool_version().encode())
    return h.hexdigest()[:16]


def _gopath() -> Path:
    """A GOPATH whose govmomi is Debian's with simext's files added to package simulator.

    Everything else is a symlink into /usr/share/gocode (a partial copy would hide the
    rest of it), and the folder is always the same, so Go's build cache, which keys on
    paths, recompiles only package simulator and main."""
    gopath = CACHE / "vcsim-gopath"
    shutil.rmtree(gopath, ignore_errors=True)
    upstream = GOCODE / "src/github.com/vmware/govmomi"
    govmomi = gopath / "src/github.com/vmware/govmomi"
    sim = govmomi / "simulator"
    sim.mkdir(parents=True)
    for entry in upstream.iterdir():
        if entry.name != "simulator":
            (govmomi / entry.name).symlink_to(entry)
    for entry in (upstream / "simulator").iterdir():
        (sim / entry.name).symlink_to(entry)
    for ext in sorted((HERE / "simext").glob("*.go")):
        shutil.copy2(ext, sim / ext.name)
    return gopath


def build() -> Path:
    """The vcsim binary, built once per input hash (safe when several processes race)."""
    out_dir = CACHE / f"vcsim-{input_hash()}"
    binary = out_dir / "v2s-vcsim"
    if binary.exists():
        return binary
    if shutil.which("go") is None or not (GOCODE / "src/github.com/vmware/govmomi").is_dir():
        raise VcsimError("Go or Debian's govmomi library is missing: run `make install`")
    out_dir.mkdir(parents=True, exist_ok=True)
    # One build at a time (the GOPATH below is shared), and once per input hash.
    with (CACHE / "vcsim-gopath.lock").open("a") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        if binary.exists():
            return binary
        gopath = _gopath()
        with tempfile.TemporaryDirectory(prefix="v2s-vcsim-build-") as tmp:
            src = Path(tmp) / "main.go"
            shutil.copy2(HERE / "main.go", src)
            env = {
                "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                "HOME": tmp,
                "GO111MODULE": "off",
                "GOPATH": f"{gopath}:{GOCODE}",
                "GOCACHE": str(CACHE / "go-build"),
                "GOFLAGS": "",
                "CGO_ENABLED": "0",
            }
            tmp_bin = Path(tmp) / "v2s-vcsim"
            try:
                proc = subprocess.run(
                    ["go", "build", "-o", str(tmp_bin), str(src)],
                    env=env,
                    capture_output=True,
                    text=True,
                    cwd=tmp,
                    check=False,
                    timeout=BUILD_TIMEOUT,
                )
            except subprocess.TimeoutExpired as e:
                raise VcsimError(f"building vcsim took over {BUILD_TIMEOUT} s") from e
            if proc.returncode != 0:
                raise VcsimError(f"building vcsim failed:\n{proc.stderr[-4000:]}")
            shutil.move(str(tmp_bin), binary.with_suffix(".tmp"))
            binary.with_suffix(".tmp").replace(binary)
    return binary


class Vcsim:
    """A running vcsim on 127.0.0.1 (context manager); nothing is left behind on exit."""

    def __init__(
        self,
        *,
        vms_per_pool: int = 2,
        autostart: bool = True,
        hosts_per_cluster: int = 3,
        standalone_hosts: int = 1,
        session_idle_s: float = 0,
        username: str = "user",
        password: str = "pass",
        read_limit: float | None = None,
        nfc_lease_timeout_s: int = 300,
        cbt_page_areas: int = 1024,
        delta_names: bool = False,
    ) -> None:
        if read_limit is None:  # bytes/s; 0 is no limit
            read_limit = float(os.environ.get(READ_LIMIT_ENV, "0") or 0) * (1 << 20)
        self._args = [
            f"-read-limit={read_limit}",
            f"-nfc-lease-timeout={nfc_lease_timeout_s}",
            f"-cbt-page-areas={cbt_page_areas}",
            f"-delta-names={'true' if delta_names else 'false'}",
            f"-vm={vms_per_pool}",
            f"-autostart={'true' if autostart else 'false'}",
            f"-host={hosts_per_cluster}",
            f"-standalone-host={standalone_hosts}",
            f"-session-idle={session_idle_s}s",
            f"-username={username}",
            f"-password={password}",
        ]
        self._proc: subprocess.Popen[bytes] | None = None
        self._tmp: Path | None = None
        self._http: requests.Session | None = None  # kept for guest writes (one TLS handshake)
        self.info: dict[str, Any] = {}

    # --- lifecycle -----------------------------------------------------------------------

    def start(self) -> Vcsim:
        binary = build()
        self._tmp = Path(tempfile.mkdtemp(prefix="v2s-vcsim-"))
        cert = self._tmp / "vcsim-cert.pem"
        env = {"PATH": os.environ.get("PATH", ""), "TMPDIR": str(self._tmp)}
        self._proc = subprocess.Popen(
            [str(binary), "-listen=127.0.0.1:0", f"-certout={cert}",
             f"-remove-on-exit={self._tmp}", *self._args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=(self._tmp / "vcsim.log").open("wb"),
            env=env,
            start_new_session=True,
        )
        try:
            self._load_info(self._first_line())
        except BaseException:
            self.stop()
            raise
        return self

    def _first_line(self) -> str:
        assert self._proc is not None and self._proc.stdout is not None
        deadline = time.monotonic() + START_TIMEOUT
        fd = self._proc.stdout.fileno()
        buf = b""
        while b"\n" not in buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise VcsimError(f"vcsim did not start within {START_TIMEOUT:.0f} s")
            ready, _, _ = select.select([fd], [], [], left)
            if ready:
                chunk = os.read(fd, 65536)
                if not chunk:
                    raise VcsimError(f"vcsim exited early: {self.log()[-2000:]}")
                buf += chunk
        return buf.split(b"\n", 1)[0].decode()

    def stop(self) -> None:
        http, self._http = self._http, None
        if http is not None:
            http.close()
        proc, self._proc = self._proc, None
        if proc is not None:
            with contextlib.suppress(OSError):
                if proc.stdin:
                    proc.stdin.close()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)
            if proc.stdout:
                proc.stdout.close()
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    def __enter__(self) -> Vcsim:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # --- endpoint facts (set by start) ---------------------------------------------------

    def _load_info(self, line: str) -> None:
        self.info = json.loads(line)
        self.url: str = self.info["url"]
        self.host: str = self.url.split("//", 1)[1].split("/", 1)[0]
        self.username: str = self.info["username"]
        self.password: str = self.info["password"]
        self.thumbprint: str = self.info["thumbprint"]  # SHA-1, "AA:BB:…" as vSphere shows it
        self.cert_file = Path(self.info["cert_file"])  # self-signed: the CA bundle to verify
        self.pid: int = self.info["pid"]
        self.datacenter = DATACENTER

    def datastore_dir(self, name: str = DATASTORE) -> Path:
        """The local directory behind a datastore (VMDK files go here)."""
        return Path(self.info["datastores"][name])

    @property
    def vsan_objects_dir(self) -> Path:
        """Where the objects (``vsan://<id>`` extents) of the vSAN-like datastore live."""
        return Path(self.info["vsan_objects"])

    @property
    def work_dir(self) -> Path:
        assert self._tmp is not None
        return self._tmp

    def log(self) -> str:
        with contextlib.suppress(OSError, AssertionError):
            assert self._tmp is not None
            return (self._tmp / "vcsim.log").read_text(errors="replace")
        return ""

    def settings(self, **extra: Any) -> dict[str, Any]:
        """Provider settings for the `vmware` provider pointing at this vcsim (CA-verified)."""
        return {
            "url": self.url,
            "username": self.username,
            "password": self.password,
            "ca_file": str(self.cert_file),
            "datacenter": self.datacenter,
            **extra,
        }

    # --- lab-only features ---------------------------------------------------------------

    def patch(self, vm_moref: str, op: str, value: str = "") -> None:
        """Give a VM a feature CreateVM cannot: ``rdm``, ``encrypt``, ``vtpm``, ``vgpu``,
        ``change_version``."""
        with requests.Session() as s:
            s.trust_env = False
            r = s.post(
                f"https://{self.host}/v2s/patch",
                json={"vm": vm_moref, "op": op, "value": value},
                verify=str(self.cert_file),
                timeout=10,
            )
        if r.status_code != 204:
            raise VcsimError(f"patch {op} on {vm_moref} failed: {r.status_code} {r.text.strip()}")

    def guest_write(self, vm_moref: str, disk_key: int, offset: int, data: bytes) -> str:
        """Write ``data`` at ``offset`` of a running VM's disk (device key) as its guest would.

        Without snapshots the base disk changes; with snapshots the write goes to the
        running delta (the base stays as it was at the first snapshot). Returns the disk's
        new ``backing.changeId`` ("" when change tracking is not active)."""
        if self._http is None:
            self._http = requests.Session()
            self._http.trust_env = False
            self._http.verify = str(self.cert_file)
        r = self._http.post(
            f"https://{self.host}/v2s/write",
            params={"vm": vm_moref, "disk": str(disk_key), "offset": str(offset)},
            data=data,
            timeout=60,
        )
        if r.status_code != 200:
            raise VcsimError(f"guest write to {vm_moref} disk {disk_key} at {offset} failed: "
                             f"{r.status_code} {r.text.strip()}")
        return str(r.json()["change_id"])
