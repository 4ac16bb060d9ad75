"""Session fixtures: lab guests and their conversions, cached under .cache/.

A conversion is cached by the hash of the guest build and of the converter's source
files, so a rerun with unchanged code reuses it; any change to v2s_qemu converts
again. The libguestfs appliance cache is shared too.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
import v2s_qemu
from v2s_qemu.convert import ConvertOptions, convert_vm
from v2s_qemu.provider import guest_seed

from tests.lab.guest import GuestImage, build_guest
from tests.lab.guest.rootfs import cache_root

VM = "web-01"
DISK_SHA256 = "x" * 64  # what the provider tests pass as the export's checksum


@dataclass(frozen=True)
class Converted:
    guest: GuestImage
    disks: tuple[Path, ...]
    changes: tuple[str, ...]
    seconds: float


CONVERTER_FILES = ("convert.py", "linux.py", "bios2uefi.py", "guestfish.py", "qcow2.py")


def converter_hash() -> str:
    """Hash of the converter's sources (a change invalidates cached conversions)."""
    h = hashlib.sha256()
    for name in CONVERTER_FILES:
        h.update(name.encode() + (Path(v2s_qemu.__file__).parent / name).read_bytes())
    return h.hexdigest()[:16]


def build_identity(flat: Sequence[Path]) -> str:
    """Which build of the guest this is: a rebuilt guest (new UUIDs) must not reuse
    a conversion made from an earlier build with the same input hash."""
    h = hashlib.sha256()
    for path in flat:
        st = path.stat()
        h.update(f"{path.name}:{st.st_ino}:{st.st_mtime_ns}:{st.st_size};".encode())
    return h.hexdigest()[:8]


def guestfs_cache() -> Path:
    return cache_root() / "guestfs-appliance"


def convert_guest(variant: str) -> Converted:
    """Convert a lab guest (cached); same options as a default migration."""
    guest = build_guest(variant)
    final = cache_root() / (
        f"converted-{variant}-{guest.directory.name[-16:]}-{converter_hash()}"
        f"-{build_identity(guest.flat)}"
    )
    if not (final / "result.json").exists():
        with tempfile.TemporaryDirectory(prefix=f".converted-{variant}-", dir=cache_root()) as t:
            tmp = Path(t)
            outs = [tmp / f"disk{k}.qcow2" for k in range(len(guest.flat))]
            res = convert_vm(
                guest.flat,
                outs,
                ConvertOptions(
                    firmware=guest.firmware,
                    seed=guest_seed(VM, [str(p) for p in guest.flat], DISK_SHA256),
                ),
                tmp / "work",
                guestfs_cache(),
            )
            (tmp / "result.json").write_text(
                json.dumps({"changes": list(res.changes), "seconds": res.seconds})
            )
            shutil.rmtree(final, ignore_errors=True)
            tmp.rename(final)
            tmp.mkdir()  # TemporaryDirectory cleans up a path that exists
    data = json.loads((final / "result.json").read_text())
    disks = tuple(sorted(final.glob("disk*.qcow2")))
    return Converted(guest, disks, tuple(data["changes"]), data["seconds"])


@pytest.fixture(scope="session")
def converted() -> Callable[[str], Converted]:
    """``converted(variant)``: the converted lab guest, built and converted once."""
    memo: dict[str, Converted] = {}

    def get(variant: str) -> Converted:
        if variant not in memo:
            memo[variant] = convert_guest(variant)
        return memo[variant]

    return get
