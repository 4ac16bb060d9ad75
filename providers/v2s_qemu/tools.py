"""Running the image tools (qemu-img, sfdisk, grub, guestfish, virt-v2v), always with a timeout.

Quick queries get ``QUICK_S``; one guestfish command (the appliance's launch, a script
such as update-initramfs under TCG) gets ``GUESTFISH_S``; whole-disk work (qemu-img
convert, virt-v2v) gets ``BASE_S`` plus ``PER_GIB_S`` per GiB, i.e. it is allowed
~8.5 MiB/s, several times slower than the slowest run seen in the lab (docs/providers/qemu.md).
"""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from typing import Any

from vmware2scw.errors import ProviderError

QUICK_S = 300.0
GUESTFISH_S = 1800.0
BASE_S = 600.0
PER_GIB_S = 120.0


def scaled(size_bytes: int) -> float:
    """The timeout for work that reads or writes ``size_bytes`` of disk."""
    return BASE_S + PER_GIB_S * size_bytes / 2**30


def run(argv: Sequence[str], *, timeout: float, error: type[ProviderError] = ProviderError,
        **kw: Any) -> subprocess.CompletedProcess[str]:
    """``subprocess.run`` (text, output captured unless redirected); ``error`` if it times out."""
    if "stdout" not in kw and "stderr" not in kw:
        kw["capture_output"] = True
    try:
        return subprocess.run(list(argv), text=True, timeout=timeout, check=False, **kw)
    except subprocess.TimeoutExpired:
        raise error(f"{argv[0]} did not finish within {timeout:.0f} s and was killed") from None
