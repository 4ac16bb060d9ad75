"""A tiny UEFI-bootable disk and a FAT data disk, built in a second for boot tests.

The boot disk is GPT with an EFI System Partition holding a GRUB EFI image at the
removable path (``\\EFI\\BOOT\\BOOTX64.EFI``, what OVMF boots with empty NVRAM, as on a new
Scaleway server). Its embedded config lists the disks it sees, prints the file
``v2s.txt`` of the second disk, prints a marker line and powers off: a boot under
OVMF + virtio-scsi in seconds instead of a Linux boot's tens of seconds.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

GRUB_EFI_LIB = Path("/usr/lib/grub/x86_64-efi")
MARKER = "V2S-MARKER root=hd0 ipv4=not-networked tools=none"
GRUB_CFG = f"""\
serial --unit=0 --speed=115200
terminal_input serial
terminal_output serial
echo V2S-DISKS-BEGIN
ls
echo V2S-DISKS-END
cat (hd1)/v2s.txt
echo {MARKER}
halt
"""
GRUB_MODULES = ("serial", "terminal", "echo", "ls", "cat", "fat", "part_gpt", "halt", "normal")
MIB = 2**20


def _run(*argv: str) -> None:
    subprocess.run(argv, check=True, capture_output=True, timeout=60)


def _fat(path: Path, size_mib: int, files: dict[str, Path]) -> Path:
    """A FAT image of ``size_mib`` holding ``files`` (name inside -> local file), no mount."""
    _run("mkfs.vfat", "-C", str(path), str(size_mib * 1024))
    for inside, local in files.items():
        parts = inside.strip("/").split("/")
        for i in range(1, len(parts)):
            subprocess.run(["mmd", "-i", str(path), "::/" + "/".join(parts[:i])],
                           capture_output=True, timeout=60, check=False)  # fmt: skip
        _run("mcopy", "-i", str(path), str(local), "::/" + inside.strip("/"))
    return path


def build_boot_disk(work: Path) -> Path:
    """``work/boot.raw``: GPT, one 16 MiB ESP with GRUB at the removable path."""
    cfg = work / "grub-embedded.cfg"
    cfg.write_text(GRUB_CFG)
    efi = work / "BOOTX64.EFI"
    _run("grub-mkimage", "-d", str(GRUB_EFI_LIB), "-O", "x86_64-efi", "-o", str(efi),
         "-p", "/EFI/BOOT", "-c", str(cfg), *GRUB_MODULES)  # fmt: skip
    esp = _fat(work / "esp.img", 16, {"EFI/BOOT/BOOTX64.EFI": efi})
    disk = work / "boot.raw"
    with disk.open("wb") as f:
        f.truncate(20 * MIB)
    _run("sgdisk", "-n", "1:2048:+16M", "-t", "1:ef00", str(disk))
    with disk.open("r+b") as f:
        f.seek(MIB)
        f.write(esp.read_bytes())
    return disk


def build_data_disk(work: Path, text: str) -> Path:
    """``work/data.img``: a whole-disk FAT file system with ``v2s.txt`` = ``text``."""
    src = work / "v2s.txt"
    src.write_text(text + "\n")
    return _fat(work / "data.img", 8, {"v2s.txt": src})
