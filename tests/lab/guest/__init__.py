"""VMware-style Debian 12 lab guests, built once and cached (see ``build.build_guest``)."""

from tests.lab.guest.build import GuestImage, build_guest

__all__ = ["GuestImage", "build_guest"]
