"""qemu-img helpers: raw working copies, qcow2 outputs Scaleway accepts, and their facts.

Scaleway imports qcow2 without a backing file, without encryption and without zstd
compression; :func:`write_qcow2` makes exactly that (zlib when compressing) and
:func:`check_qcow2` verifies it, as the import would.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from v2s_qemu import tools
from vmware2scw.errors import ProviderError


class ImageError(ProviderError):
    """qemu-img failed or produced something Scaleway would refuse."""


def _qemu_img(*argv: str, timeout: float = tools.QUICK_S) -> str:
    proc = tools.run(["qemu-img", *argv], timeout=timeout, error=ImageError)
    if proc.returncode != 0:
        raise ImageError(f"qemu-img {argv[0]}: {proc.stderr.strip() or proc.stdout.strip()}")
    return proc.stdout


def info(path: Path) -> dict[str, Any]:
    """``qemu-img info`` as a dict."""
    data: dict[str, Any] = json.loads(_qemu_img("info", "--output=json", str(path)))
    return data


def to_raw(src: Path, dst: Path) -> None:
    """A sparse raw working copy of any image qemu reads (raw, flat or stream VMDK, qcow2)."""
    fmt = info(src)["format"]
    _qemu_img("convert", "-q", "-f", fmt, "-O", "raw", "-S", "4k", str(src), str(dst),
              timeout=tools.scaled(int(info(src)["virtual-size"])))


def write_qcow2(raw: Path, dst: Path, compress: bool) -> None:
    """raw -> qcow2 (compat 1.1, no backing file, zlib when compressed)."""
    opts = "compat=1.1"
    if compress:
        opts += ",compression_type=zlib"
    argv = ["convert", "-q", "-f", "raw", "-O", "qcow2", "-o", opts]
    if compress:
        argv.append("-c")
    _qemu_img(*argv, str(raw), str(dst), timeout=tools.scaled(raw.stat().st_size))


def check_qcow2(path: Path) -> dict[str, Any]:
    """Refuse anything Scaleway's import would refuse; return ``qemu-img info``."""
    data = info(path)
    specific = data.get("format-specific", {}).get("data", {})
    problems = []
    if data.get("format") != "qcow2":
        problems.append(f"format is {data.get('format')}")
    if data.get("backing-filename") or data.get("full-backing-filename"):
        problems.append("has a backing file")
    if data.get("encrypted") or specific.get("encrypt"):
        problems.append("is encrypted")
    if specific.get("compression-type", "zlib") != "zlib":
        problems.append(f"uses {specific.get('compression-type')} compression")
    proc = tools.run(["qemu-img", "check", "-q", str(path)], timeout=tools.QUICK_S,
                     error=ImageError)
    if proc.returncode != 0:
        problems.append(f"qemu-img check: {proc.stderr.strip() or proc.stdout.strip()}")
    if problems:
        raise ImageError(f"{path.name}: " + "; ".join(problems))
    return data


def sha256(path: Path) -> str:
    """Hex SHA-256 of a file."""
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(4 << 20):
            h.update(chunk)
    return h.hexdigest()
