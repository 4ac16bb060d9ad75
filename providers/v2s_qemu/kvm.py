"""Use KVM only when a probe proves it works; TCG otherwise.

On these machines /dev/kvm exists but qemu aborts or hangs with it, so its presence
proves nothing (SeaBIOS even starts, then the guest kernel hangs): the probe boots the
host's own kernel under KVM, with no root file system, and requires it to get as far
as its "cannot mount root" panic within a few seconds. ``V2S_ACCEL=tcg|kvm`` overrides the probe.
"""

from __future__ import annotations

import contextlib
import functools
import os
import subprocess
import tempfile
import time
from pathlib import Path

from v2s_qemu import lifeline

PROBE_SECONDS = 20.0
PANIC = b"Kernel panic"


def _stamp() -> Path:
    """Where this boot's probe verdict is remembered (the answer holds until reboot)."""
    try:
        boot_id = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        boot_id = "unknown"
    return Path(tempfile.gettempdir()) / f"v2s-kvm-probe-{boot_id}"


@functools.cache
def kvm_usable() -> bool:
    """True when KVM proved usable on this host (probed once per host boot)."""
    stamp = _stamp()
    try:
        return stamp.read_text().strip() == "kvm"
    except OSError:
        pass
    verdict = _probe()
    with contextlib.suppress(OSError):
        stamp.write_text("kvm\n" if verdict else "tcg\n")
    return verdict


def _probe() -> bool:
    """True when a kernel boots under ``-accel kvm`` to its late-boot panic."""
    kernels = sorted(Path("/boot").glob("vmlinuz-*"))
    if not os.access("/dev/kvm", os.R_OK | os.W_OK) or not kernels:
        return False
    with tempfile.TemporaryDirectory(prefix="v2s-kvm-") as tmp:
        log = Path(tmp) / "console.log"
        argv = [
            "qemu-system-x86_64", "-accel", "kvm", "-machine", "q35", "-m", "256",
            "-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
            "-kernel", str(kernels[-1]), "-append", "console=ttyS0 panic=-1 quiet",
            "-chardev", f"file,id=ser0,path={log}", "-serial", "chardev:ser0",
        ]  # fmt: skip
        try:
            qemu = lifeline.spawn(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
        except OSError:
            return False
        try:
            deadline = time.monotonic() + PROBE_SECONDS
            while time.monotonic() < deadline:
                if log.exists() and PANIC in log.read_bytes():
                    return True
                if qemu.proc.poll() is not None:
                    return False
                time.sleep(0.2)
            return False
        finally:
            qemu.stop()


def accelerator() -> str:
    """``kvm`` or ``tcg`` (``V2S_ACCEL`` wins over the probe)."""
    forced = os.environ.get("V2S_ACCEL", "").strip().lower()
    if forced in ("kvm", "tcg"):
        return forced
    return "kvm" if kvm_usable() else "tcg"
