"""``guest_conversion``: the BIOS lab guest converted in place on a volume-like device file,
then booted the way Scaleway presents a server's volumes (OVMF + virtio-scsi)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from v2s_qemu.bootcheck import boot_check
from v2s_qemu.convert import ConvertOptions
from v2s_qemu.inplace import convert_in_place

from tests.convert.conftest import guestfs_cache
from tests.lab.guest import build_guest

# The lab e2e block test (tests/e2e/test_block_transport.py) converts in place and boots in
# `make test`; this closer look runs with the guest matrix (`make test-guests`).
pytestmark = [pytest.mark.slow, pytest.mark.guests, pytest.mark.timeout(1500)]
ESP_ROOM = 256 << 20


def test_bios_guest_converted_in_place_on_its_volume_boots_uefi(tmp_path: Path) -> None:
    guest = build_guest("bios")
    device = tmp_path / "scsi-0SCW_sbs_volume-0000"
    subprocess.run(["cp", "--sparse=always", str(guest.flat[0]), str(device)], check=True,
                   timeout=300)
    size = device.stat().st_size
    with device.open("r+b") as f:
        f.truncate(size + ESP_ROOM)  # the volume: the disk plus the room for the ESP
    changes = convert_in_place([device], ConvertOptions(firmware="bios", seed="inplace"),
                               tmp_path / "work", guestfs_cache())
    assert device.stat().st_size == size + ESP_ROOM  # converted in place, never grown
    text = "\n".join(changes)
    assert "partition table converted from MBR to GPT" in text
    assert "removed package open-vm-tools" in text
    r = boot_check([device], "scaleway", expect_marker=True, require_login=True, timeout=600)
    assert r.ok, f"{r.reason}\n{r.tail()}"
    assert r.tools == "absent"
    shutil.rmtree(tmp_path / "work", ignore_errors=True)
