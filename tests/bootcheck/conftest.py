"""Session fixtures: lab guests, built once and cached under .cache/ (see tests.lab.guest)."""

from __future__ import annotations

import pytest

from tests.lab.guest import GuestImage, build_guest


@pytest.fixture(scope="session")
def bios_guest() -> GuestImage:
    """The VMware-style BIOS/MBR Debian 12 guest."""
    return build_guest("bios")
