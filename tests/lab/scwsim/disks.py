"""The local files behind Block volumes and snapshots (sparse raw or qcow2).

An empty volume is a sparse raw file of its size; a volume made from a snapshot is a
copy-on-write qcow2 over the snapshot's file; a snapshot of a volume is a sparse copy
taken at that instant. A volume shown to a migration host as a device must be raw
(writes through the device path are its bytes), so it is flattened on attach.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from pathlib import Path

QEMU_TIMEOUT = 3600  # seconds: flattening a large volume is slow under load


def image_format(path: Path) -> str:
    """qcow2 or raw, by the file's magic."""
    with path.open("rb") as f:
        return "qcow2" if f.read(4) == b"QFI\xfb" else "raw"


def _run(argv: list[str], timeout: float = QEMU_TIMEOUT) -> bool:
    proc = subprocess.run(argv, capture_output=True, timeout=timeout, check=False)
    return proc.returncode == 0


def empty(dest: Path, size: int) -> Path:
    """A sparse raw file of ``size`` bytes (reads as zeros, like a new volume)."""
    dest.parent.mkdir(exist_ok=True, mode=0o700)
    with dest.open("wb") as f:
        f.truncate(size)
    return dest


def clone(qemu_img: str, base: Path, dest: Path, size: int) -> bool:
    """A copy-on-write qcow2 of ``size`` bytes over ``base`` (raw or qcow2)."""
    dest.parent.mkdir(exist_ok=True, mode=0o700)
    fmt = image_format(base)
    return _run([qemu_img, "create", "-q", "-f", "qcow2", "-F", fmt, "-b", str(base),
                 str(dest), str(size)], timeout=60)  # fmt: skip


def copy(src: Path, dest: Path) -> bool:
    """A sparse, point-in-time copy (a qcow2 overlay keeps its backing file)."""
    dest.parent.mkdir(exist_ok=True, mode=0o700)
    return _run(["cp", "--sparse=always", "--reflink=auto", str(src), str(dest)])


def flatten_raw(qemu_img: str, src: Path, dest: Path) -> bool:
    """Write ``src`` (qcow2 with its backing chain) as a sparse raw file ``dest``."""
    tmp = dest.with_name(dest.name + ".part")
    ok = _run([qemu_img, "convert", "-q", "-O", "raw", "-S", "4k", str(src), str(tmp)])
    if ok:
        os.replace(tmp, dest)
    else:
        with contextlib.suppress(OSError):
            tmp.unlink()
    return ok


def grow(qemu_img: str, path: Path, size: int) -> None:
    """Grow the file behind a volume to ``size`` bytes (never shrinks)."""
    if image_format(path) == "raw":
        if path.stat().st_size < size:
            os.truncate(path, size)
        return
    _run([qemu_img, "resize", "-q", "-f", "qcow2", str(path), str(size)], timeout=60)
