"""One libguestfs appliance per conversion, driven through ``guestfish --listen``.

Each call is ``guestfish --remote=PID -- CMD ARGS…`` with an argument list (no shell
on the host); the guest's own tools run inside the appliance, never on the host.
TCG is forced unless the KVM probe proved KVM usable; the appliance cache and
temporary files live in folders the caller owns.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

from v2s_qemu import tools
from v2s_qemu.kvm import accelerator
from vmware2scw.errors import ProviderError


class GuestfishError(ProviderError):
    """A guestfish command failed (message = its stderr)."""


def guestfs_env(cache_dir: Path, tmp_dir: Path) -> dict[str, str]:
    """Environment for libguestfs tools: direct backend, TCG unless KVM works, own dirs."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp_dir.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env.update(
        LIBGUESTFS_BACKEND="direct",
        LIBGUESTFS_CACHEDIR=str(cache_dir),
        LIBGUESTFS_TMPDIR=str(tmp_dir),
        TMPDIR=str(tmp_dir),
    )
    if accelerator() != "kvm":
        env["LIBGUESTFS_BACKEND_SETTINGS"] = "force_tcg"
    return env


class Guestfish:
    """A running guestfish server with the disks attached (read-write)."""

    def __init__(self, pid: int, env: dict[str, str]) -> None:
        self.pid = pid
        self.env = env

    def __call__(self, *argv: str) -> str:
        """Run one guestfish command; return its stdout."""
        proc = tools.run(["guestfish", f"--remote={self.pid}", "--", *argv],
                         timeout=tools.GUESTFISH_S, error=GuestfishError, env=self.env)
        if proc.returncode != 0:
            raise GuestfishError(f"{argv[0]}: {proc.stderr.strip() or 'failed'}")
        return proc.stdout

    def sh(self, script: str) -> str:
        """Run a shell script inside the guest (chroot in the appliance)."""
        return self("sh", script)

    def exists(self, path: str) -> bool:
        return self("exists", path).strip() == "true"

    def is_file(self, path: str) -> bool:
        return self("is-file", path).strip() == "true"

    def read(self, path: str) -> str:
        return self("cat", path) if self.is_file(path) else ""

    def write(self, path: str, text: str, host_tmp: Path) -> None:
        """Write a guest file through a host temporary file (content may be any text)."""
        host_tmp.write_text(text)
        self("upload", str(host_tmp), path)
        host_tmp.unlink()

    def mapping(self, *argv: str) -> dict[str, str]:
        """Parse guestfish's ``key: value`` output (inspect-get-mountpoints, …)."""
        out: dict[str, str] = {}
        for line in self(*argv).splitlines():
            key, sep, value = line.partition(": ")
            if sep:
                out[key.strip()] = value.strip()
        return out


@contextlib.contextmanager
def session(disks: Sequence[Path], env: dict[str, str]) -> Iterator[Guestfish]:
    """Start guestfish with ``disks`` (raw, read-write), launch the appliance, always stop it."""
    argv = ["guestfish", "--listen"]
    # The server forks and keeps its stdout: read the PID from a file, not a pipe.
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        rc = tools.run(argv, stdout=out, stderr=err, env=env, timeout=tools.QUICK_S,
                       error=GuestfishError).returncode
        out.seek(0)
        err.seek(0)
        m = re.search(r"GUESTFISH_PID=(\d+)", out.read())
        if rc != 0 or not m:
            raise GuestfishError(f"guestfish did not start: {err.read().strip()}")
    g = Guestfish(int(m.group(1)), env)
    try:
        for d in disks:  # discard on: fstrim punches the freed blocks out of the raw files
            g("add-drive", str(d), "format:raw", "discard:besteffort")
        g("run")
        yield g
        g("umount-all")
        g("shutdown")  # flushes every write; a failure here fails the conversion
    finally:
        try:
            g("exit")
        except ProviderError:  # failed, timed out or cancelled: stop it the hard way
            with contextlib.suppress(ProcessLookupError):
                os.kill(g.pid, signal.SIGKILL)
