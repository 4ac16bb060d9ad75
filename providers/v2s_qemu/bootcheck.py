"""Boot a disk image under qemu the way Scaleway presents it, or the way VMware did.

``scaleway``: q35, OVMF (UEFI, empty NVRAM), disks on virtio-scsi, a virtio-net NIC on
user networking with DHCP (``restrict=on``: no way out). ``vmware``: q35 with SeaBIOS
(or OVMF for EFI guests), disks on SATA, a vmxnet3 NIC in PCIe slot 192 (``ens192``).
The serial console (ttyS0) is read while the guest boots; the result says whether it
reached a login prompt (and/or the lab's marker line) with an IPv4 address, and keeps
the console log either way. Disks are opened with ``-snapshot``: never modified.
"""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from v2s_qemu import lifeline
from v2s_qemu.kvm import accelerator

OVMF_CODE = Path("/usr/share/OVMF/OVMF_CODE_4M.fd")
OVMF_VARS = Path("/usr/share/OVMF/OVMF_VARS_4M.fd")
MARKER_RE = re.compile(
    r"V2S-MARKER root=(?P<root>\S+) ipv4=(?P<ipv4>\S+) tools=(?P<tools>\S+)(?: qga=(?P<qga>\S+))?"
)
LOGIN_RE = re.compile(r"^\S+ login: *$", re.MULTILINE)
ANSI_RE = re.compile(r"\x1b\[[0-9;?=]*[A-Za-z]|\x1b[()][0-9A-Za-z]|\r")
# Console lines that mean the boot cannot succeed: stop at once instead of waiting.
FATAL = (
    (re.compile(r"BdsDxe: failed to load"), "UEFI firmware found no bootable disk"),
    (re.compile(r"No bootable device"), "BIOS found no bootable disk"),
    (re.compile(r"Kernel panic"), "kernel panic"),
    (re.compile(r"Gave up waiting for root file ?system device"), "root file system not found"),
    (re.compile(r"ALERT!.*does not exist"), "root device not found by the initramfs"),
    (re.compile(r"You are in emergency mode"), "system in emergency mode"),
    (re.compile(r"grub rescue>"), "GRUB rescue prompt"),
)
CANCELLED = "cancelled"
SCW_NET = "10.0.2.0/24"  # qemu user networking: DHCP hands out 10.0.2.15
VMW_NET = ("192.168.50.0/24", "192.168.50.1")  # matches the lab guest's static ens192


class BootResult(BaseModel):
    """What one boot showed on its serial console."""

    model_config = ConfigDict(frozen=True)

    ok: bool
    reason: str
    mode: str
    accel: str
    seconds: float
    login_prompt: bool = False
    ipv4: str | None = None
    root_device: str | None = None
    tools: str | None = None
    guest_agent: str | None = None
    tcp_ports: tuple[int, ...] = ()  # forwarded guest ports that answered
    console: str = ""

    def tail(self, lines: int = 40) -> str:
        """The last console lines (for error messages)."""
        return "\n".join(self.console.splitlines()[-lines:])


def qemu_argv(
    disks: Sequence[Path],
    mode: str,
    firmware: str,
    work: Path,
    accel: str,
    hostfwd: Mapping[int, int],
    memory_mb: int,
) -> list[str]:
    """The qemu-system-x86_64 command line for one boot check."""
    argv = [
        "qemu-system-x86_64", "-machine", "q35", "-accel", accel, "-m", str(memory_mb),
        "-smp", "1", "-nodefaults", "-no-user-config", "-display", "none", "-snapshot",
        "-chardev", f"file,id=ser0,path={work / 'console.log'}", "-serial", "chardev:ser0",
    ]  # fmt: skip
    if firmware == "efi":
        vars_copy = work / "OVMF_VARS.fd"
        shutil.copyfile(OVMF_VARS, vars_copy)
        argv += [
            "-drive", f"if=pflash,format=raw,unit=0,readonly=on,file={OVMF_CODE}",
            "-drive", f"if=pflash,format=raw,unit=1,file={vars_copy}",
        ]  # fmt: skip
    if mode == "scaleway":
        argv += ["-device", "virtio-scsi-pci,id=scsi0"]
    for i, path in enumerate(disks):
        fmt = image_format(path)
        argv += ["-drive", f"file={path},if=none,id=d{i},format={fmt},cache=unsafe"]
        if mode == "scaleway":
            argv += ["-device", f"scsi-hd,drive=d{i},bus=scsi0.0,lun={i}"]
        else:
            argv += ["-device", f"ide-hd,drive=d{i},bus=ide.{i}"]
    fwd = "".join(f",hostfwd=tcp:127.0.0.1:{h}-:{g}" for g, h in hostfwd.items())
    if mode == "scaleway":
        argv += [
            "-netdev", f"user,id=n0,restrict=on,net={SCW_NET}{fwd}",
            "-device", "virtio-net-pci,netdev=n0",
        ]  # fmt: skip
    else:
        argv += [
            "-netdev", f"user,id=n0,restrict=on,net={VMW_NET[0]},host={VMW_NET[1]}{fwd}",
            "-global", "ICH9-LPC.acpi-pci-hotplug-with-bridge-support=off",
            "-device", "pcie-root-port,id=rp192,chassis=1,slot=192",
            "-device", "vmxnet3,netdev=n0,bus=rp192",
        ]  # fmt: skip
    return argv


def image_format(path: Path) -> str:
    """qcow2 or raw (a monolithicFlat extent or a descriptor is read as its format)."""
    with path.open("rb") as f:
        head = f.read(4)
    if head == b"QFI\xfb":
        return "qcow2"
    if head == b"KDMV" or (path.suffix == ".vmdk" and not path.name.endswith("-flat.vmdk")):
        return "vmdk"
    return "raw"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _tcp_answers(port: int) -> bool:
    """True when a forwarded guest port accepts a connection and sends or keeps it open."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
            s.settimeout(2)
            try:
                return bool(s.recv(1))  # slirp accepts then resets when nothing listens
            except TimeoutError:
                return True
    except OSError:
        return False


def boot_check(
    disks: Sequence[Path],
    mode: str = "scaleway",
    *,
    firmware: str | None = None,
    timeout: float = 300.0,
    expect_marker: bool = False,
    require_login: bool = True,
    tcp_ports: Sequence[int] = (),
    memory_mb: int = 1024,
    on_progress: Callable[[str], None] | None = None,
    cancelled: threading.Event | None = None,
) -> BootResult:
    """Boot ``disks`` and watch ttyS0; never raises for a guest that fails to boot.

    Success needs every requirement: the marker line with an IPv4 (``expect_marker``),
    a login prompt (``require_login``) and each guest TCP port in ``tcp_ports``
    answering through a loopback forward. ``firmware`` defaults to efi for scaleway.
    ``cancelled`` stops qemu within a second (reason ``CANCELLED``).
    """
    if mode not in ("scaleway", "vmware"):
        raise ValueError(f"unknown boot mode {mode!r}")
    firmware = firmware or ("efi" if mode == "scaleway" else "bios")
    accel = accelerator()
    hostfwd = {g: _free_port() for g in tcp_ports}
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="v2s-boot-") as tmp:
        work = Path(tmp)
        (work / "console.log").touch()
        argv = qemu_argv(disks, mode, firmware, work, accel, hostfwd, memory_mb)
        qemu = lifeline.spawn(
            argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        try:
            return _watch(
                qemu.proc, work / "console.log", start, timeout, mode, accel,
                expect_marker, require_login, hostfwd, on_progress, cancelled or threading.Event(),
            )  # fmt: skip
        finally:
            qemu.stop()


def _watch(
    proc: subprocess.Popen[bytes],
    log: Path,
    start: float,
    timeout: float,
    mode: str,
    accel: str,
    expect_marker: bool,
    require_login: bool,
    hostfwd: Mapping[int, int],
    on_progress: Callable[[str], None] | None,
    cancelled: threading.Event,
) -> BootResult:
    answered: set[int] = set()
    last_note = ""
    while True:
        text = ANSI_RE.sub("", log.read_text(errors="replace"))
        elapsed = time.monotonic() - start
        markers = list(MARKER_RE.finditer(text))
        marker = markers[-1] if markers else None
        facts: dict[str, object] = {
            "mode": mode,
            "accel": accel,
            "seconds": round(elapsed, 1),
            "console": text,
            "login_prompt": bool(LOGIN_RE.search(text)),
        }
        if marker:
            ip = marker["ipv4"]
            facts.update(
                ipv4=None if ip == "none" else ip,
                root_device=marker["root"],
                tools=marker["tools"],
                guest_agent=marker["qga"],
            )
        for guest_port, host_port in hostfwd.items():
            if guest_port not in answered and _tcp_answers(host_port):
                answered.add(guest_port)
        facts["tcp_ports"] = tuple(sorted(answered))
        for pattern, why in FATAL:
            if pattern.search(text):
                return BootResult(ok=False, reason=why, **facts)  # type: ignore[arg-type]
        if marker and marker["ipv4"] == "none":
            return BootResult(ok=False, reason="guest up but no IPv4 address", **facts)  # type: ignore[arg-type]
        met = (
            (not expect_marker or marker is not None)
            and (not require_login or bool(facts["login_prompt"]))
            and len(answered) == len(hostfwd)
        )
        if met:
            return BootResult(ok=True, reason="booted", **facts)  # type: ignore[arg-type]
        if proc.poll() is not None:
            err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
            return BootResult(ok=False, reason=f"qemu exited: {err.strip()[-500:]}", **facts)  # type: ignore[arg-type]
        if elapsed > timeout:
            return BootResult(ok=False, reason=f"timed out after {timeout:.0f} s", **facts)  # type: ignore[arg-type]
        if cancelled.is_set():
            return BootResult(ok=False, reason=CANCELLED, **facts)  # type: ignore[arg-type]
        if on_progress:
            lines = text.strip().splitlines()
            note = lines[-1][:120] if lines else ""
            if note and note != last_note:
                on_progress(note)
                last_note = note
        cancelled.wait(1.0)
