"""BIOS → UEFI, the host-side half: partition table and ESP, plus a GRUB EFI image.

A BIOS/MBR boot disk is grown by a little over 130 MiB, its MBR converted to GPT in
place (``sgdisk -g``: the partitions keep their numbers and data), and two partitions
are added after the last one: a 1 MiB BIOS boot partition (so the guest's grub-pc
can still be upgraded) and a 128 MiB FAT32 EFI System Partition. Nothing is mounted
on the host; GRUB for EFI is built from the host's grub-efi-amd64-bin and placed
at the removable path ``\\EFI\\BOOT\\BOOTX64.EFI`` (Scaleway boots with empty NVRAM).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from v2s_qemu import tools
from vmware2scw.errors import ProviderError

SECTOR = 512
ALIGN = 2048  # sectors (1 MiB)
BIOS_BOOT_SECTORS = 2048
ESP_SECTORS = 128 * 2048
GPT_TAIL = 34  # backup GPT entries + header
ESP_GUID = "C12A7328-F81F-11D2-BA4B-00A0C93EC93B"
GRUB_EFI_LIB = Path("/usr/lib/grub/x86_64-efi")
GRUB_MODULES = (
    "normal", "configfile", "search", "search_fs_uuid", "search_label", "part_gpt",
    "part_msdos", "ext2", "xfs", "btrfs", "fat", "lvm", "linux", "gzio", "echo", "test",
    "all_video", "efi_gop", "serial", "terminal", "terminfo", "reboot", "halt",
)  # fmt: skip


class LayoutError(ProviderError):
    """The disk cannot be converted as is (the message says why)."""


@dataclass(frozen=True)
class Partition:
    number: int
    start: int  # sectors
    size: int  # sectors
    type: str  # MBR hex type or GPT type GUID (upper case)


@dataclass(frozen=True)
class DiskLayout:
    label: str  # dos | gpt
    sectors: int
    partitions: tuple[Partition, ...]

    def esp(self) -> Partition | None:
        """The EFI System Partition, if any."""
        for p in self.partitions:
            if p.type in (ESP_GUID, "EF"):
                return p
        return None


def read_layout(raw: Path) -> DiskLayout:
    """Partition table of a raw disk (``sfdisk --json``)."""
    proc = tools.run(["sfdisk", "--json", str(raw)], timeout=tools.QUICK_S, error=LayoutError)
    if proc.returncode != 0:
        raise LayoutError("the boot disk has no partition table")
    table = json.loads(proc.stdout)["partitiontable"]
    parts = []
    for p in table.get("partitions", ()):
        number = int("".join(ch for ch in p["node"][len(str(raw)) :] if ch.isdigit()) or 0)
        parts.append(Partition(number, int(p["start"]), int(p["size"]), str(p["type"]).upper()))
    return DiskLayout(table["label"], raw.stat().st_size // SECTOR, tuple(parts))


def volume_id(seed: str) -> str:
    """A FAT volume id derived from the conversion inputs (same inputs, same ESP)."""
    return hashlib.sha256(seed.encode()).hexdigest()[:8].upper()


def add_esp(raw: Path, seed: str) -> tuple[list[str], int, str]:
    """MBR → GPT, add BIOS boot + ESP partitions, format the ESP; return (changes, number, uuid).

    Raises :class:`LayoutError` for disks this cannot convert safely.
    """
    layout = read_layout(raw)
    if layout.label not in ("dos", "gpt"):
        raise LayoutError(f"unsupported partition table {layout.label!r} on the boot disk")
    if not layout.partitions:
        raise LayoutError("the boot disk has no partitions")
    if min(p.start for p in layout.partitions) < GPT_TAIL:
        raise LayoutError("the first partition starts too early to make room for a GPT header")
    if len(layout.partitions) > 120:
        raise LayoutError("too many partitions")
    end = max(p.start + p.size for p in layout.partitions)
    bios_start = -(-end // ALIGN) * ALIGN
    esp_start = bios_start + BIOS_BOOT_SECTORS
    need = -(-(esp_start + ESP_SECTORS + GPT_TAIL) // ALIGN) * ALIGN
    changes = []
    if need > layout.sectors:
        os.truncate(raw, need * SECTOR)
        changes.append(
            f"boot disk grown by {(need - layout.sectors) * SECTOR // 2**20} MiB for the ESP"
        )
    if layout.label == "dos":
        _run("sgdisk", "-g", str(raw))
        changes.append("partition table converted from MBR to GPT (partitions kept)")
    else:
        _run("sgdisk", "-e", str(raw))  # backup GPT header to the new end of the disk
    numbers = {p.number for p in layout.partitions}
    bios_no = next(n for n in range(1, 129) if n not in numbers)
    esp_no = next(n for n in range(bios_no + 1, 129) if n not in numbers)
    _run(
        "sgdisk",
        f"-n{bios_no}:{bios_start}:{esp_start - 1}", f"-t{bios_no}:ef02",
        f"-c{bios_no}:BIOS boot partition",
        f"-n{esp_no}:{esp_start}:{esp_start + ESP_SECTORS - 1}", f"-t{esp_no}:ef00",
        f"-c{esp_no}:EFI System Partition",
        str(raw),
    )  # fmt: skip
    vol = volume_id(seed)
    _run(
        "mkfs.fat", "-F", "32", "-s", "1", "-S", "512", "-i", vol, "-n", "EFI",
        f"--offset={esp_start}",
        str(raw), str(ESP_SECTORS * SECTOR // 1024),
    )  # fmt: skip
    changes.append(f"added BIOS boot partition {bios_no} (1 MiB)")
    changes.append(f"added EFI System Partition {esp_no} (128 MiB, FAT32)")
    return changes, esp_no, f"{vol[:4]}-{vol[4:]}"


def build_grub_efi(out: Path, boot_uuid: str, boot_is_separate: bool) -> None:
    """A standalone GRUB EFI image that finds /boot by file-system UUID."""
    prefix = "/grub" if boot_is_separate else "/boot/grub"
    cfg = out.with_suffix(".cfg")
    cfg.write_text(
        f"search --no-floppy --fs-uuid --set=root {boot_uuid}\nset prefix=($root){prefix}\n"
    )
    modules = [m for m in GRUB_MODULES if (GRUB_EFI_LIB / f"{m}.mod").exists()]
    _run(
        "grub-mkimage", "-d", str(GRUB_EFI_LIB), "-O", "x86_64-efi", "-o", str(out),
        "-c", str(cfg), "-p", prefix, *modules,
    )  # fmt: skip
    cfg.unlink()


def _run(*argv: str) -> None:
    proc = tools.run(argv, timeout=tools.QUICK_S, error=LayoutError)
    if proc.returncode != 0:
        raise LayoutError(f"{argv[0]} failed: {proc.stderr.strip() or proc.stdout.strip()}")
