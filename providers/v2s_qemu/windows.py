"""Windows guests: virt-v2v does the driver work (virtio-win ISO), we make the qcow2.

virt-v2v installs the virtio storage/network drivers and the guest agent from the
ISO named by ``VIRTIO_WIN``, and removes VMware Tools at first boot. BIOS → UEFI is
not done for Windows (the plan says so through the firmware check upstream).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from v2s_qemu import qcow2, tools
from v2s_qemu.convert import ConversionError
from v2s_qemu.guestfish import guestfs_env


def convert_windows(
    disk: Path, out: Path, virtio_win_iso: Path, work: Path, cache_dir: Path, compress: bool
) -> list[str]:
    """virt-v2v -i disk … -o local; then a Scaleway-ready qcow2 at ``out``."""
    work.mkdir(parents=True, exist_ok=True)
    env = guestfs_env(cache_dir, work / "tmp")
    env["VIRTIO_WIN"] = str(virtio_win_iso)
    proc = tools.run(
        ["virt-v2v", "-i", "disk", str(disk), "-o", "local", "-os", str(work), "-of", "raw",
         "-on", "guest", "--machine-readable=file:" + str(work / "v2v.log")],
        env=env, timeout=tools.scaled(disk.stat().st_size), error=ConversionError,
    )  # fmt: skip
    if proc.returncode != 0:
        raise ConversionError(f"virt-v2v failed: {proc.stderr.strip()[-800:]}")
    converted = work / "guest-sda"
    try:
        qcow2.write_qcow2(converted, out, compress)
        qcow2.check_qcow2(out)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return [
        "virt-v2v: virtio storage and network drivers installed from virtio-win",
        "virt-v2v: VMware Tools removal scheduled for first boot",
        "virt-v2v: qemu-guest-agent installed from virtio-win (when the ISO carries it)",
    ]
