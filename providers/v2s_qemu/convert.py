"""Convert one VM's exported disks into qcow2 images that boot on Scaleway (Linux guests).

Order: sparse raw working copies → BIOS→UEFI on the host when the boot disk is MBR
(``bios2uefi``) → one libguestfs appliance for every in-guest step (``linux``) →
qcow2 outputs, checked as Scaleway checks them. Every change is returned as a
sentence; the same inputs give the same sentences. Outputs go to the paths the
caller names (temporary names: the caller renames them once it accepts them).
"""

from __future__ import annotations

import contextlib
import shutil
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from v2s_qemu import bios2uefi, qcow2
from v2s_qemu.guestfish import Guestfish, GuestfishError, guestfs_env, session
from v2s_qemu.linux import LinuxSteps, UnsupportedGuest
from vmware2scw.errors import ProviderError

Progress = Callable[[str, int | None, int | None, str], None]
SUPPORTED_DISTROS = ("debian", "ubuntu")


class ConversionError(ProviderError):
    """The guest cannot be converted (message says why and what to do)."""


class ConvertOptions(BaseModel):
    """What the migration asks for."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    network: str = "dhcp"  # dhcp | keep
    compress: bool = False
    firmware: str = "bios"  # what vSphere reported; the disk layout decides
    seed: str = ""  # stable id of the inputs (the ESP volume id derives from it)


class ConvertResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    outputs: tuple[Path, ...]
    changes: tuple[str, ...]
    firmware_before: str
    seconds: float


def convert_vm(
    disks: Sequence[Path],
    outputs: Sequence[Path],
    options: ConvertOptions,
    work: Path,
    cache_dir: Path,
    progress: Progress | None = None,
    cancelled: threading.Event | None = None,
) -> ConvertResult:
    """Convert every disk of one Linux VM (disk 0 boots); raise ConversionError if it can't."""
    start = time.monotonic()
    report = progress or (lambda *_: None)

    def step(phase: str, message: str) -> None:
        if cancelled is not None and cancelled.is_set():
            raise ConversionError("conversion cancelled")
        report(phase, None, None, message)

    work.mkdir(parents=True, exist_ok=True)
    raws = [work / f"disk{k}.raw" for k in range(len(disks))]
    try:
        for k, (src, raw) in enumerate(zip(disks, raws, strict=True)):
            step("copy", f"disk {k}: working copy")
            qcow2.to_raw(src, raw)
        changes: list[str] = []
        layout = bios2uefi.read_layout(raws[0])
        esp = layout.esp()
        firmware_before = "efi" if esp else "bios"
        if firmware_before != options.firmware:
            changes.append(
                f"note: vSphere reported firmware {options.firmware}, the boot disk is"
                f" {firmware_before}"
            )
        esp_no, esp_uuid = (esp.number, "") if esp else (0, "")
        if not esp:
            step("partition", "BIOS -> UEFI: GPT and an EFI System Partition")
            try:
                part_changes, esp_no, esp_uuid = bios2uefi.add_esp(raws[0], options.seed)
            except bios2uefi.LayoutError as e:
                raise ConversionError(f"BIOS -> UEFI impossible: {e}") from e
            changes += part_changes
        step("guest", "starting the libguestfs appliance")
        env = guestfs_env(cache_dir, work / "tmp")
        with session(raws, env) as g:
            changes += _in_guest(g, work, options, esp_no, esp_uuid, step)
        outputs = list(outputs)
        for k, (raw, out) in enumerate(zip(raws, outputs, strict=True)):
            step("qcow2", f"disk {k}: qcow2{' (compressed)' if options.compress else ''}")
            out.parent.mkdir(parents=True, exist_ok=True)
            qcow2.write_qcow2(raw, out, options.compress)
            qcow2.check_qcow2(out)
    except (UnsupportedGuest, qcow2.ImageError, bios2uefi.LayoutError, GuestfishError) as e:
        for out in outputs:
            out.unlink(missing_ok=True)
        raise ConversionError(str(e)) from e
    except BaseException:
        for out in outputs:
            out.unlink(missing_ok=True)
        raise
    finally:
        for raw in raws:
            raw.unlink(missing_ok=True)
        shutil.rmtree(work / "tmp", ignore_errors=True)
    return ConvertResult(
        outputs=tuple(outputs),
        changes=tuple(changes),
        firmware_before=firmware_before,
        seconds=round(time.monotonic() - start, 1),
    )


def _in_guest(
    g: Guestfish,
    work: Path,
    options: ConvertOptions,
    esp_no: int,
    esp_uuid: str,
    step: Callable[[str, str], None],
) -> list[str]:
    """Inspect, mount and run every in-guest step; return the changes."""
    roots = [r for r in g("inspect-os").split() if r]
    if len(roots) != 1:
        raise ConversionError(f"expected one operating system on the disks, found {len(roots)}")
    root = roots[0]
    kind, distro = g("inspect-get-type", root).strip(), g("inspect-get-distro", root).strip()
    if kind != "linux":
        raise ConversionError(f"guest is {kind}: Linux guests convert here (Windows: virt-v2v)")
    if distro not in SUPPORTED_DISTROS:
        raise ConversionError(
            f"guest distribution {distro!r} is not supported yet (supported:"
            f" {', '.join(SUPPORTED_DISTROS)})"
        )
    mounts = g.mapping("inspect-get-mountpoints", root)
    for mp in sorted(mounts, key=len):
        g("mount", mounts[mp], mp)
    esp_dev = f"/dev/sda{esp_no}"
    esp_uuid = esp_uuid or g("vfs-uuid", esp_dev).strip()
    if "/boot/efi" not in mounts:
        g("mkdir-p", "/boot/efi")
        g("mount", esp_dev, "/boot/efi")
    steps = LinuxSteps(g, work)
    changes: list[str] = []
    step("guest", "removing VMware tools")
    changes += steps.remove_vmware_tools()
    changes += steps.add_virtio_to_initramfs()
    changes += steps.fstab_by_uuid(
        [] if "/boot/efi" in mounts else [f"UUID={esp_uuid} /boot/efi vfat umask=0077 0 1"]
    )
    changes += steps.resume_by_uuid()
    changes += steps.network(options.network)
    changes += steps.grub_defaults()
    changes += steps.serial_getty()
    changes += steps.guest_agent()
    changes += steps.efi_grub_modules(bios2uefi.GRUB_EFI_LIB)
    if not g.exists("/boot/efi/EFI/BOOT/BOOTX64.EFI"):
        boot_dev = mounts.get("/boot", mounts["/"])
        boot_uuid = g("vfs-uuid", boot_dev).strip()
        image = work / "BOOTX64.EFI"
        try:
            bios2uefi.build_grub_efi(image, boot_uuid, "/boot" in mounts)
        except bios2uefi.LayoutError as e:
            raise ConversionError(str(e)) from e
        g("mkdir-p", "/boot/efi/EFI/BOOT")
        g("upload", str(image), "/boot/efi/EFI/BOOT/BOOTX64.EFI")
        image.unlink()
        changes.append(
            "ESP: GRUB for UEFI at \\EFI\\BOOT\\BOOTX64.EFI (removable path, boots with empty"
            " NVRAM; finds /boot by UUID)"
        )
    step("initramfs", "rebuilding the initramfs (slow under emulation)")
    changes += steps.rebuild_initramfs()
    step("guest", "regenerating grub.cfg")
    changes += steps.regenerate_grub_cfg()
    for mp in sorted(mounts, key=len, reverse=True):
        if mp.startswith("/"):
            with contextlib.suppress(GuestfishError):  # some file systems cannot trim
                g("fstrim", mp)
    return changes
