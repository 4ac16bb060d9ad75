"""Acceptance: converted lab guests boot the way Scaleway presents disks; unconverted do not."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from v2s_qemu import qcow2
from v2s_qemu.bootcheck import boot_check

from tests.convert.conftest import Converted
from tests.lab.guest import build_guest

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1500)]
DHCP_ADDRESS = "10.0.2.15"  # what qemu's user-network DHCP server hands out first


@pytest.mark.parametrize("variant", ["bios", "uefi", "twodisk", "lvm"])
def test_converted_guest_boots_to_login_with_a_dhcp_address(
    variant: str, converted: Callable[[str], Converted]
) -> None:
    c = converted(variant)
    for disk in c.disks:
        info = qcow2.check_qcow2(disk)  # what Scaleway's import checks
        assert info["format"] == "qcow2"
    r = boot_check(c.disks, "scaleway", expect_marker=True, require_login=True, timeout=600)
    assert r.ok, f"{r.reason}\n{r.tail()}"
    assert r.login_prompt
    assert r.ipv4 == DHCP_ADDRESS
    assert r.tools == "absent"  # open-vm-tools removed
    if variant == "lvm":
        assert r.root_device == "/dev/mapper/vg0-root"
    text = "\n".join(c.changes)
    assert "removed package open-vm-tools" in text
    assert "virtio_scsi" in text and "serial-getty@ttyS0" in text
    assert "DHCP on any en*/eth* interface" in text
    if variant != "uefi":
        assert "partition table converted from MBR to GPT" in text
    else:
        assert "MBR to GPT" not in text  # already UEFI: the ESP is kept
    if variant == "twodisk":
        assert len(c.disks) == 2 and "(/var) -> UUID=" in text


def test_unconverted_vmware_style_guest_does_not_boot_the_scaleway_way() -> None:
    """The BIOS/MBR source disk itself: OVMF finds no bootloader (detected in seconds)."""
    r = boot_check(build_guest("bios").flat, "scaleway", expect_marker=True, timeout=300)
    assert not r.ok and r.ipv4 is None
    assert r.reason == "UEFI firmware found no bootable disk", r.tail()
