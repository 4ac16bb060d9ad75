"""Assemble the lab guest disks: file systems built on loop files, then laid into raw disks.

The host kernel here has no device-mapper and no vfat, so nothing on LVM or FAT is
ever mounted: file systems are built as separate ext4 images (mounted through
loop devices), the ESP is written with mtools, the LVM logical volume is created without
activation and the root image is copied to its extent offset.
"""

from __future__ import annotations

import contextlib
import re
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

MIB = 1 << 20


@dataclass(frozen=True)
class Part:
    """One partition: its role, size in MiB (0 = rest of the disk) and type."""

    role: str  # root | boot | var | esp | lvm
    size_mib: int
    fs: str = "ext4"  # ext4 | vfat | lvm


@dataclass(frozen=True)
class Layout:
    """A variant's disks (one list of partitions per disk) and how the guest names them."""

    firmware: str  # bios | efi
    table: str  # mbr | gpt
    disks: tuple[tuple[int, tuple[Part, ...]], ...]  # (size in MiB, partitions)
    fstab: str
    root_device: str  # how GRUB/the kernel names the root device in the VMware guest


VARIANTS: dict[str, Layout] = {
    "bios": Layout(
        "bios",
        "mbr",
        ((3072, (Part("root", 0),)),),
        "/dev/sda1 / ext4 errors=remount-ro 0 1\n",
        "/dev/sda1",
    ),
    "uefi": Layout(
        "efi",
        "gpt",
        ((3072, (Part("esp", 128, "vfat"), Part("root", 0))),),
        "/dev/sda2 / ext4 errors=remount-ro 0 1\n/dev/sda1 /boot/efi vfat umask=0077 0 1\n",
        "/dev/sda2",
    ),
    "twodisk": Layout(
        "bios",
        "mbr",
        ((3072, (Part("root", 0),)), (1024, (Part("var", 0),))),
        "/dev/sda1 / ext4 errors=remount-ro 0 1\n/dev/sdb1 /var ext4 defaults 0 2\n",
        "/dev/sda1",
    ),
    "lvm": Layout(
        "bios",
        "mbr",
        ((3072, (Part("boot", 512), Part("lvm", 0, "lvm"))),),
        "/dev/mapper/vg0-root / ext4 errors=remount-ro 0 1\n/dev/sda1 /boot ext4 defaults 0 2\n",
        "/dev/mapper/vg0-root",
    ),
}
LVM_ROOT_MIB = 2304  # the root logical volume; leaves free extents in the VG


def run(*argv: str) -> str:
    """Run a host command; return its stdout."""
    return subprocess.run(argv, check=True, capture_output=True, text=True).stdout


def partition_spans(size_mib: int, parts: tuple[Part, ...]) -> list[tuple[int, int]]:
    """(start MiB, size MiB) of each partition: 1 MiB aligned, GPT backup space kept."""
    spans, start = [], 1
    for p in parts:
        size = p.size_mib or (size_mib - start - 1)
        spans.append((start, size))
        start += size
    return spans


def make_table(
    raw: Path, table: str, parts: tuple[Part, ...], spans: list[tuple[int, int]]
) -> None:
    """Write an MBR (sfdisk) or GPT (sgdisk) partition table."""
    if table == "mbr":
        kinds = {"ext4": "83", "lvm": "8e", "vfat": "ef"}
        lines = ["label: dos"]
        for i, (p, (start, size)) in enumerate(zip(parts, spans, strict=True)):
            boot = ", bootable" if i == 0 else ""
            lines.append(f"start={start * 2048}, size={size * 2048}, type={kinds[p.fs]}{boot}")
        subprocess.run(
            ["sfdisk", "--no-reread", "-q", str(raw)],
            input="\n".join(lines) + "\n",
            text=True,
            check=True,
            capture_output=True,
        )
        return
    codes = {"ext4": "8300", "lvm": "8e00", "vfat": "ef00"}
    argv = ["sgdisk", "-o"]
    for i, (p, (start, size)) in enumerate(zip(parts, spans, strict=True), 1):
        argv += [f"-n{i}:{start * 2048}:{(start + size) * 2048 - 1}", f"-t{i}:{codes[p.fs]}"]
    run(*argv, str(raw))


def make_ext4(path: Path, size_mib: int) -> str:
    """Create an ext4 image file; return its UUID."""
    with path.open("wb") as f:
        f.truncate(size_mib * MIB)
    run("mkfs.ext4", "-q", "-F", str(path))
    return run("blkid", "-s", "UUID", "-o", "value", str(path)).strip()


def copy_into(image: Path, raw: Path, offset: int) -> None:
    """Copy a file-system image into a raw disk at a byte offset, keeping holes."""
    run(
        "dd",
        f"if={image}",
        f"of={raw}",
        "bs=1M",
        f"seek={offset // MIB}",
        "conv=notrunc,sparse",
        "status=none",
    )


@contextlib.contextmanager
def loop_device(path: Path, partitions: bool = False) -> Iterator[str]:
    """Attach a file to a free loop device (with partition nodes when asked)."""
    argv = ["losetup", "-f", "--show"] + (["-P"] if partitions else []) + [str(path)]
    dev = run(*argv).strip()
    try:
        if partitions and not Path(f"{dev}p1").exists():
            subprocess.run(["partx", "-a", dev], check=False, capture_output=True)
            for _ in range(50):
                if Path(f"{dev}p1").exists():
                    break
                time.sleep(0.1)
        yield dev
    finally:
        subprocess.run(["losetup", "-d", dev], check=False, capture_output=True)


@contextlib.contextmanager
def mounted(device: str, where: Path) -> Iterator[Path]:
    """Mount a block device and always unmount it."""
    where.mkdir(parents=True, exist_ok=True)
    run("mount", device, str(where))
    try:
        yield where
    finally:
        subprocess.run(["umount", "-R", str(where)], check=False, capture_output=True)


@contextlib.contextmanager
def chroot_mounts(root: Path) -> Iterator[None]:
    """Bind /dev, /proc and /sys into the guest root for the chroot steps."""
    done: list[Path] = []
    try:
        for src, fstype in (("/dev", None), ("/proc", "proc"), ("/sys", "sysfs")):
            target = root / src.lstrip("/")
            target.mkdir(exist_ok=True)
            if fstype:
                run("mount", "-t", fstype, fstype, str(target))
            else:
                run("mount", "--bind", src, str(target))
            done.append(target)
        yield
    finally:
        for target in reversed(done):
            subprocess.run(["umount", "-l", str(target)], check=False, capture_output=True)


LV_TEMPLATE = """
\tlogical_volumes {{

\t\troot {{
\t\t\tid = "v2sLab-root-0000-0000-0000-0000-000000"
\t\t\tstatus = ["READ", "WRITE", "VISIBLE"]
\t\t\tflags = []
\t\t\tsegment_count = 1

\t\t\tsegment1 {{
\t\t\t\tstart_extent = 0
\t\t\t\textent_count = {extents}
\t\t\t\ttype = "striped"
\t\t\t\tstripe_count = 1
\t\t\t\tstripes = [
\t\t\t\t\t"pv0", 0
\t\t\t\t]
\t\t\t}}
\t\t}}
\t}}
"""


def lvm_root_offset(raw: Path, lvm_start_mib: int) -> int:
    """PV + VG vg0 + LV root (first extents) on partition 2; return the LV's byte offset.

    lvcreate needs device-mapper, which this host lacks: the LV is added to the VG
    metadata with vgcfgbackup/vgcfgrestore instead (nothing is ever activated).
    """
    quiet = ["--config", "devices { use_devicesfile=0 }"]
    with loop_device(raw, partitions=True) as dev:
        pv = f"{dev}p2"
        run("pvcreate", *quiet, "-q", "-ff", "-y", pv)
        run("vgcreate", *quiet, "-q", "-s", "4m", "vg0", pv)
        cfg = raw.with_suffix(".vg0")
        run("vgcfgbackup", *quiet, "-f", str(cfg), "vg0")
        text = cfg.read_text()
        end = text.rindex("}")
        cfg.write_text(text[:end] + LV_TEMPLATE.format(extents=LVM_ROOT_MIB // 4) + text[end:])
        subprocess.run(
            ["vgcfgrestore", *quiet, "-f", str(cfg), "vg0"], check=True, capture_output=True
        )
        cfg.unlink()
        pe_start = int(
            run("pvs", *quiet, "--noheadings", "--units", "b", "--nosuffix", "-o", "pe_start", pv)
        )
        ranges = run("lvs", *quiet, "--noheadings", "-o", "seg_pe_ranges", "vg0/root").strip()
    # Detaching the loop device is enough: without lvmetad the host forgets the VG.
    m = re.search(r":(\d+)-\d+", ranges)
    if not m:
        raise RuntimeError(f"unexpected LV segment ranges: {ranges!r}")
    return lvm_start_mib * MIB + pe_start + int(m.group(1)) * 4 * MIB
