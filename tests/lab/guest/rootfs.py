"""The Debian 12 root file system every lab guest starts from: debootstrap once, cache a tar.

The tar is keyed by the hash of the package list, suite and this file, so editing any
of them rebuilds it; the variants (disk layouts) are assembled from it in ``disk.py``.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

SUITE = "bookworm"
MIRROR = os.environ.get("V2S_DEBIAN_MIRROR", "http://deb.debian.org/debian")

# What a VMware-hosted Debian server typically carries. grub-pc and grub-efi-amd64-bin
# coexist (the -bin package has no conflict), so the UEFI variant needs no second tree.
PACKAGES = (
    "linux-image-amd64",
    "systemd",
    "systemd-sysv",
    "udev",
    "initramfs-tools",
    "grub-pc",
    "grub-efi-amd64-bin",
    "ifupdown",
    "isc-dhcp-client",
    "iproute2",
    "netbase",
    "open-vm-tools",
    "openssh-server",
    "lvm2",
    "e2fsprogs",
    "kmod",
    "procps",
)


def cache_root() -> Path:
    """Where cached lab artefacts live (``V2S_CACHE`` or ``<repo>/.cache``)."""
    env = os.environ.get("V2S_CACHE")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[3] / ".cache"


def inputs_hash() -> str:
    """Hash of everything that shapes the root file system."""
    h = hashlib.sha256()
    h.update("\n".join((SUITE, MIRROR, *PACKAGES)).encode())
    h.update(Path(__file__).read_bytes())
    return h.hexdigest()[:16]


def rootfs_tar() -> Path:
    """Path of the cached root file system tar, building it first when missing."""
    out_dir = cache_root() / f"guest-rootfs-{inputs_hash()}"
    tar = out_dir / "rootfs.tar"
    if tar.exists():
        return tar
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="v2s-rootfs-", dir=out_dir) as tmp:
        target = Path(tmp) / "root"
        subprocess.run(
            [
                "debootstrap",
                "--variant=minbase",
                f"--include={','.join(PACKAGES)}",
                SUITE,
                str(target),
                MIRROR,
            ],
            check=True,
            stdout=subprocess.DEVNULL,
            env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
        )
        shutil.rmtree(target / "var/cache/apt/archives", ignore_errors=True)
        (target / "var/cache/apt/archives/partial").mkdir(parents=True, exist_ok=True)
        partial = tar.with_suffix(".tar.part")
        subprocess.run(
            ["tar", "-C", str(target), "--numeric-owner", "-cpf", str(partial), "."],
            check=True,
        )
        partial.rename(tar)
    return tar
