"""BIOS -> UEFI on the host: MBR -> GPT in place, BIOS boot + ESP added, FAT32 OVMF can read."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from v2s_qemu import bios2uefi


def mbr_disk(path: Path, size_mib: int = 64) -> Path:
    with path.open("wb") as f:
        f.truncate(size_mib << 20)
    subprocess.run(
        ["sfdisk", "-q", str(path)],
        input="label: dos\nstart=2048, type=83\n",
        text=True,
        check=True,
        capture_output=True,
    )
    return path


def test_mbr_disk_gets_gpt_bios_boot_and_a_valid_esp(tmp_path: Path) -> None:
    raw = mbr_disk(tmp_path / "d.raw")
    before = bios2uefi.read_layout(raw)
    changes, esp_no, uuid = bios2uefi.add_esp(raw, "seed")
    after = bios2uefi.read_layout(raw)
    assert after.label == "gpt"
    assert after.partitions[0] == before.partitions[0].__class__(
        1, before.partitions[0].start, before.partitions[0].size, after.partitions[0].type
    )
    esp = after.esp()
    assert esp is not None and esp.number == esp_no == 3 and esp.size == bios2uefi.ESP_SECTORS
    assert any(p.type == "21686148-6449-6E6F-744E-656564454649" for p in after.partitions)
    assert uuid == "-".join((bios2uefi.volume_id("seed")[:4], bios2uefi.volume_id("seed")[4:]))
    assert "partition table converted from MBR to GPT (partitions kept)" in changes
    esp_img = tmp_path / "esp.img"
    subprocess.run(
        [
            "dd",
            f"if={raw}",
            f"of={esp_img}",
            "bs=512",
            f"skip={esp.start}",
            f"count={esp.size}",
            "status=none",
        ],
        check=True,
    )
    fsck = subprocess.run(["fsck.fat", "-n", str(esp_img)], capture_output=True, text=True)
    assert (
        fsck.returncode == 0 and "less than the required minimum" not in fsck.stdout + fsck.stderr
    )
    verify = subprocess.run(["sgdisk", "-v", str(raw)], capture_output=True, text=True)
    assert "No problems found" in verify.stdout


def test_same_seed_same_result(tmp_path: Path) -> None:
    a, b = mbr_disk(tmp_path / "a.raw"), mbr_disk(tmp_path / "b.raw")
    assert bios2uefi.add_esp(a, "s")[::2] == bios2uefi.add_esp(b, "s")[::2]
    assert a.stat().st_size == b.stat().st_size


def test_disk_without_partitions_is_refused(tmp_path: Path) -> None:
    raw = tmp_path / "blank.raw"
    with raw.open("wb") as f:
        f.truncate(8 << 20)
    with pytest.raises(bios2uefi.LayoutError, match="no partition table"):
        bios2uefi.add_esp(raw, "s")


def test_grub_efi_image_is_built(tmp_path: Path) -> None:
    out = tmp_path / "BOOTX64.EFI"
    bios2uefi.build_grub_efi(out, "0123-4567", boot_is_separate=True)
    assert out.read_bytes()[:2] == b"MZ" and out.stat().st_size > 100_000
