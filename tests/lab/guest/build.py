"""``build_guest(variant)``: a cached, VMware-style Debian 12 guest as VMDK files.

Each variant is built once into ``<cache>/guest-<variant>-<hash of builder inputs>/``
(a temporary directory renamed into place when complete) and described by
``guest.json``: the flat extents (raw), monolithicFlat descriptors, streamOptimized
copies, firmware and what the marker line is expected to say.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from tests.lab.guest import configure, disk, rootfs

_HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class GuestImage:
    """Paths and facts of one built guest (disk order is the VM's disk order)."""

    variant: str
    firmware: str  # bios | efi
    flat: tuple[Path, ...]  # raw extents: what a disk export yields
    descriptors: tuple[Path, ...]  # monolithicFlat .vmdk descriptors
    stream: tuple[Path, ...]  # streamOptimized .vmdk
    root_device: str  # root device as the VMware guest names it
    static_ip: str
    directory: Path


def variant_hash(variant: str) -> str:
    """Hash of the builder inputs of one variant (root file system + layout + code)."""
    h = hashlib.sha256(rootfs.inputs_hash().encode())
    h.update(variant.encode())
    h.update(repr(disk.VARIANTS[variant]).encode())
    for name in ("configure.py", "disk.py", "build.py"):
        h.update((_HERE / name).read_bytes())
    return h.hexdigest()[:16]


@contextlib.contextmanager
def _lock(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        yield


def build_guest(variant: str) -> GuestImage:
    """Return the cached guest for a variant, building it first when missing."""
    if variant not in disk.VARIANTS:
        raise ValueError(f"unknown guest variant {variant!r}; use one of {sorted(disk.VARIANTS)}")
    cache = rootfs.cache_root()
    final = cache / f"guest-{variant}-{variant_hash(variant)}"
    with _lock(cache / f".guest-{variant}.lock"):
        if not (final / "guest.json").exists():
            tar = rootfs.rootfs_tar()
            with tempfile.TemporaryDirectory(prefix=f".guest-{variant}-", dir=cache) as tmp:
                out = Path(tmp) / "out"
                out.mkdir()
                _build(variant, tar, Path(tmp), out)
                if final.exists():
                    shutil.rmtree(final)
                out.rename(final)
    return load(final)


def load(directory: Path) -> GuestImage:
    """Read a built guest's description."""
    data = json.loads((directory / "guest.json").read_text())
    return GuestImage(
        variant=data["variant"],
        firmware=data["firmware"],
        flat=tuple(directory / p for p in data["flat"]),
        descriptors=tuple(directory / p for p in data["descriptors"]),
        stream=tuple(directory / p for p in data["stream"]),
        root_device=data["root_device"],
        static_ip=data["static_ip"],
        directory=directory,
    )


def _build(variant: str, tar: Path, work: Path, out: Path) -> None:
    layout = disk.VARIANTS[variant]
    # 1. File-system images, one per role.
    sizes: dict[str, int] = {}
    for size_mib, parts in layout.disks:
        for p, (_, span) in zip(parts, disk.partition_spans(size_mib, parts), strict=True):
            sizes[p.role] = disk.LVM_ROOT_MIB if p.role == "lvm" else span
    if "lvm" in sizes:
        sizes["root"] = sizes.pop("lvm")
    images = {role: work / f"{role}.img" for role in sizes if role != "esp"}
    uuids = {role: disk.make_ext4(img, sizes[role]) for role, img in images.items()}
    # 2. Populate and configure the guest in a chroot.
    mnt = work / "mnt"
    with contextlib.ExitStack() as stack:
        root_dev = stack.enter_context(disk.loop_device(images["root"]))
        stack.enter_context(disk.mounted(root_dev, mnt))
        for role in ("boot", "var"):
            if role in images:
                dev = stack.enter_context(disk.loop_device(images[role]))
                stack.enter_context(disk.mounted(dev, mnt / role))
        disk.run("tar", "-C", str(mnt), "--numeric-owner", "-xpf", str(tar))
        with disk.chroot_mounts(mnt):
            configure.write_guest_files(mnt, layout.fstab)
            configure.rebuild_initramfs(mnt)
            boot_role = "boot" if "boot" in images else "root"
            configure.write_grub_cfg(
                mnt, layout.table, uuids[boot_role], boot_role == "boot", layout.root_device
            )
            if layout.firmware == "efi":
                efi_dir = mnt / "boot/grub/x86_64-efi"
                shutil.copytree(mnt / "usr/lib/grub/x86_64-efi", efi_dir, dirs_exist_ok=True)
                (mnt / "boot/efi").mkdir(exist_ok=True)
        grub_lib = mnt / "usr/lib/grub/x86_64-efi"
        esp = (
            _make_esp(work, sizes.get("esp", 0), uuids["root"], grub_lib)
            if "esp" in sizes
            else None
        )
    # 3. Raw disks with partition tables, file systems copied in, bootloader installed.
    flats, descs, streams = [], [], []
    for k, (size_mib, parts) in enumerate(layout.disks):
        raw = work / f"disk{k}.raw"
        with raw.open("wb") as f:
            f.truncate(size_mib * disk.MIB)
        spans = disk.partition_spans(size_mib, parts)
        disk.make_table(raw, layout.table, parts, spans)
        for p, (start, _) in zip(parts, spans, strict=True):
            if p.role == "esp" and esp is not None:
                disk.copy_into(esp, raw, start * disk.MIB)
            elif p.role == "lvm":
                disk.copy_into(images["root"], raw, disk.lvm_root_offset(raw, start))
            else:
                disk.copy_into(images[p.role], raw, start * disk.MIB)
        if k == 0 and layout.firmware == "bios":
            _install_grub_bios(raw, work / "bootmnt", boot_is_root="boot" not in images)
        flat_desc = out / f"disk{k}.vmdk"
        disk.run(
            "qemu-img", "convert", "-f", "raw", "-O", "vmdk",
            "-o", "subformat=monolithicFlat,adapter_type=lsilogic", str(raw), str(flat_desc),
        )  # fmt: skip
        stream = out / f"disk{k}-stream.vmdk"
        disk.run(
            "qemu-img", "convert", "-f", "raw", "-O", "vmdk",
            "-o", "subformat=streamOptimized,adapter_type=lsilogic", str(raw), str(stream),
        )  # fmt: skip
        raw.unlink()
        flats.append(f"disk{k}-flat.vmdk")
        descs.append(flat_desc.name)
        streams.append(stream.name)
    info = GuestImage(
        variant, layout.firmware, (), (), (), layout.root_device, configure.STATIC_IP, out
    )
    data = {k: v for k, v in asdict(info).items() if k not in ("directory",)}
    data.update(flat=flats, descriptors=descs, stream=streams)
    (out / "guest.json").write_text(json.dumps(data, indent=2) + "\n")


def _make_esp(work: Path, size_mib: int, root_uuid: str, grub_lib: Path) -> Path:
    """A FAT32 ESP image with GRUB at the Debian and the removable paths (mtools only)."""
    esp = work / "esp.img"
    disk.run("mkfs.fat", "-F", "32", "-C", str(esp), str(size_mib * 1024))
    efi = work / "grubx64.efi"
    disk.run(
        "grub-mkimage", "-d", str(grub_lib), "-O", "x86_64-efi", "-o", str(efi),
        "-p", "/EFI/debian", "part_gpt", "part_msdos", "fat", "ext2", "search",
        "search_fs_uuid", "normal", "configfile", "linux", "echo", "test", "gzio",
        "all_video", "efi_gop",
    )  # fmt: skip
    cfg = work / "grub.cfg"
    cfg.write_text(
        f"search.fs_uuid {root_uuid} root\nset prefix=($root)'/boot/grub'\n"
        "configfile $prefix/grub.cfg\n"
    )
    img = f"{esp}"
    for d in ("::/EFI", "::/EFI/debian", "::/EFI/BOOT"):
        disk.run("mmd", "-i", img, d)
    disk.run("mcopy", "-i", img, str(efi), "::/EFI/debian/grubx64.efi")
    disk.run("mcopy", "-i", img, str(cfg), "::/EFI/debian/grub.cfg")
    disk.run("mcopy", "-i", img, str(efi), "::/EFI/BOOT/BOOTX64.EFI")
    return esp


def _install_grub_bios(raw: Path, where: Path, boot_is_root: bool) -> None:
    """grub-install (i386-pc) into the MBR gap, with /boot/grub on the first partition."""
    with disk.loop_device(raw, partitions=True) as dev, disk.mounted(f"{dev}p1", where):
        boot_dir = where / "boot" if boot_is_root else where
        subprocess.run(
            ["grub-install", "--target=i386-pc", f"--boot-directory={boot_dir}", dev],
            check=True,
            capture_output=True,
        )
