"""The boot check tells a guest that boots from one that does not, on both presentations."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from v2s_qemu.bootcheck import BootResult, boot_check, image_format, qemu_argv

from tests.lab.guest import GuestImage


def test_scaleway_presentation_is_uefi_virtio_scsi_virtio_net_restricted(tmp_path: Path) -> None:
    disk = tmp_path / "d.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(disk), "1M"], check=True)
    argv = qemu_argv([disk], "scaleway", "efi", tmp_path, "tcg", {22: 2222}, 1024)
    joined = " ".join(argv)
    assert "OVMF_CODE" in joined and (tmp_path / "OVMF_VARS.fd").exists()
    assert "virtio-scsi-pci" in joined and "scsi-hd,drive=d0" in joined
    assert "virtio-net-pci" in joined and "restrict=on" in joined
    assert "hostfwd=tcp:127.0.0.1:2222-:22" in joined
    assert "-snapshot" in argv and "format=qcow2" in joined


def test_vmware_presentation_is_seabios_sata_vmxnet3_slot_192(tmp_path: Path) -> None:
    disk = tmp_path / "d-flat.vmdk"
    disk.write_bytes(b"\0" * 512)
    argv = qemu_argv([disk, disk], "vmware", "bios", tmp_path, "tcg", {}, 1024)
    joined = " ".join(argv)
    assert "pflash" not in joined and "virtio" not in joined
    assert "ide-hd,drive=d0,bus=ide.0" in joined and "ide-hd,drive=d1,bus=ide.1" in joined
    assert "slot=192" in joined and "vmxnet3" in joined
    assert image_format(disk) == "raw"


def test_boot_result_tail_keeps_the_last_lines() -> None:
    r = BootResult(
        ok=False,
        reason="x",
        mode="scaleway",
        accel="tcg",
        seconds=1.0,
        console="\n".join(str(i) for i in range(100)),
    )
    assert r.tail(3) == "97\n98\n99"


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_vmdk_files_are_monolithic_flat_and_stream_optimized(bios_guest: GuestImage) -> None:
    for path, sub in (
        (bios_guest.descriptors[0], "monolithicFlat"),
        (bios_guest.stream[0], "streamOptimized"),
    ):
        out = subprocess.run(
            ["qemu-img", "info", "--output=json", str(path)],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        info = json.loads(out)
        assert info["format"] == "vmdk"
        assert info["format-specific"]["data"]["create-type"] == sub
    assert bios_guest.descriptors[0].read_text(errors="replace").count("disk0-flat.vmdk") == 1


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_vmware_style_guest_boots_the_vmware_way(bios_guest: GuestImage) -> None:
    r = boot_check(bios_guest.flat, "vmware", expect_marker=True, require_login=False, timeout=420)
    assert r.ok, f"{r.reason}\n{r.tail()}"
    assert r.ipv4 == bios_guest.static_ip  # the static address on ens192 (vmxnet3, slot 192)
    assert r.root_device == "/dev/sda1"
    assert r.tools == "installed"


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_vmware_style_guest_fails_the_scaleway_way_fast(bios_guest: GuestImage) -> None:
    r = boot_check(bios_guest.flat, "scaleway", expect_marker=True, timeout=420)
    assert not r.ok
    assert r.reason == "UEFI firmware found no bootable disk", r.tail()
    assert r.seconds < 120  # detected from the console, not by waiting for the timeout
    assert "BdsDxe: failed to load" in r.console
