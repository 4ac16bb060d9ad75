"""Plan-time validation of one source VM: what v2s refuses (error), flags (warning), notes (info).

Every diagnostic says what was found, why it matters and what to do about it.
"""

from __future__ import annotations

from dataclasses import dataclass

from vmware2scw.diagnostics import Diagnostic, error, info, warning
from vmware2scw.provider import VMFacts


@dataclass(frozen=True)
class Checks:
    """What the migration asks for and what the converter can do (from settings and config)."""

    own_snapshot: str = ""  # the v2s snapshot name of this lineage (not the user's snapshot)
    power_off_source: bool = False
    bios_to_uefi: bool = True
    max_disk_bytes: int = 10**12
    supported_families: tuple[str, ...] = ("linux",)
    warn_families: tuple[str, ...] = ("windows",)
    target_type: str = ""
    target_cpus: int | None = None
    target_memory_mb: int | None = None


def _disks(vm: VMFacts, c: Checks, a: str) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    for d in vm.disks:
        what = f"{d.label} ({d.file or 'no file'})"
        if d.rdm:
            out.append(error(
                f"{what} is a raw device mapping (RDM)",
                "an RDM points at a SAN LUN, not a VMDK: it cannot be snapshotted or read over "
                "the datastore. Fix: copy the LUN into a VMDK (Storage vMotion to a virtual disk, "
                "or a virtual-mode RDM migrated as a flat disk), or detach it.", address=a))
        if d.sharing == "sharingMultiWriter":
            out.append(error(
                f"{what} is shared (multi-writer)",
                "a disk written by several VMs at once (clusters, Oracle RAC) has no consistent "
                "copy and Scaleway volumes attach to one server. Fix: migrate the cluster "
                "data another way, or turn sharing off and detach it from the other VMs.",
                address=a))
        if d.mode.startswith("independent") and not d.rdm:  # an RDM is refused already
            text = (f"{what} is independent ({d.mode})", "independent disks are not part of "
                    "snapshots, so a copy taken while the VM runs is inconsistent.")
            if c.power_off_source:
                out.append(warning(text[0], text[1] + " The VM is powered off before the copy "
                                   "(cutover.power_off_source), which makes it consistent.",
                                   address=a))
            else:
                out.append(error(text[0], text[1] + " Fix: set the disk to dependent mode, or "
                                 "set `cutover: {power_off_source: true}`.", address=a))
        if d.encrypted:
            out.append(error(f"{what} is encrypted", "encrypted VMDKs cannot be read over "
                             "the datastore. Fix: decrypt the disk in vCenter first.", address=a))
        if d.capacity_bytes > c.max_disk_bytes:
            out.append(error(
                f"{what} is {d.capacity_bytes / 1e9:.3g} GB, over Scaleway's import limit of "
                f"{c.max_disk_bytes / 1e9:.3g} GB",
                "Scaleway imports snapshots of at most 1 TB. Fix: shrink the disk (resize the "
                "file system and the VMDK), or move its data to a separate volume.", address=a))
    return out


def _features(vm: VMFacts, a: str) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    feats = set(vm.features)
    if "pci_passthrough" in feats:
        out.append(error("the VM uses PCI passthrough (or SR-IOV)",
                         "a host device cannot move to Scaleway. Fix: remove the passthrough "
                         "device, or pick a Scaleway GPU type and re-install the driver after.",
                         address=a))
    if "vgpu" in feats:
        out.append(error("the VM has a vGPU", "NVIDIA GRID vGPU profiles do not exist on "
                         "Scaleway. Fix: remove the vGPU device; use a GPU instance type and "
                         "install its driver after the migration.", address=a))
    if "encrypted" in feats:
        out.append(error("the VM is encrypted (VM encryption)",
                         "its disks cannot be read without the key server. Fix: decrypt the "
                         "VM in vCenter (VM Policies > Edit VM Storage Policies).", address=a))
    if "vtpm" in feats:
        out.append(error("the VM has a virtual TPM", "Scaleway has no vTPM: secrets sealed to "
                         "it (BitLocker, LUKS with TPM) would be lost. Fix: unseal/suspend them "
                         "and remove the vTPM device.", address=a))
    if "scsi_bus_sharing" in feats:
        out.append(error("a SCSI controller shares its bus with other VMs",
                         "bus sharing serves clustered disks, which Scaleway volumes do not "
                         "support. Fix: set the controller's bus sharing to None.", address=a))
    return out


def validate(vm: VMFacts, checks: Checks, *, address: str) -> list[Diagnostic]:
    """Every diagnostic for migrating ``vm`` with these checks (errors block apply)."""
    a = address
    out = _disks(vm, checks, a) + _features(vm, a)
    foreign = [s for s in vm.snapshots if s != checks.own_snapshot]
    if foreign:
        out.append(error(
            f"the VM has {len(foreign)} snapshot(s): {', '.join(foreign[:5])}",
            "v2s reads the base disks, which do not hold what was written since a snapshot. "
            "Fix: delete or consolidate the snapshots (Snapshots > Delete All).", address=a))
    if vm.firmware == "bios":
        if checks.bios_to_uefi:
            out.append(info("the VM boots with BIOS: it will be converted to UEFI",
                            "Scaleway boots UEFI only; the converter adds a GPT and an EFI "
                            "system partition.", address=a))
        else:
            out.append(error("the VM boots with BIOS", "Scaleway boots UEFI only and this "
                             "converter cannot change the firmware. Fix: convert the guest to "
                             "UEFI in vSphere first, or enable the BIOS-to-UEFI conversion.",
                             address=a))
    if vm.secure_boot:
        out.append(warning("Secure Boot is on", "the migrated server boots without Secure "
                           "Boot (the converted bootloader is unsigned). Fix: none needed; "
                           "re-enable it in the guest later if you rely on it.", address=a))
    if vm.guest_family not in checks.supported_families:
        text = (f"guest OS {vm.guest_id or 'unknown'} ({vm.guest_family})",)
        if vm.guest_family in checks.warn_families:
            out.append(warning(text[0] + " is converted on a best-effort basis",
                               "check drivers and licences after the migration.", address=a))
        else:
            out.append(error(text[0] + " is not supported",
                             "v2s converts Linux guests. Fix: set the VM's guest OS in vCenter "
                             "if it is wrong, or migrate this VM another way.", address=a))
    if checks.target_cpus is not None and checks.target_cpus < vm.num_cpus:
        out.append(error(f"target {checks.target_type or 'type'} has {checks.target_cpus} "
                         f"vCPUs, the VM has {vm.num_cpus}",
                         "the server would be smaller than the VM. Fix: choose a larger type.",
                         address=a))
    if checks.target_memory_mb is not None and checks.target_memory_mb < vm.memory_mb:
        out.append(error(f"target {checks.target_type or 'type'} has {checks.target_memory_mb} "
                         f"MiB of memory, the VM has {vm.memory_mb}",
                         "the server would be smaller than the VM. Fix: choose a larger type.",
                         address=a))
    if vm.power_state == "suspended":
        out.append(error("the VM is suspended", "a suspended VM cannot be snapshotted "
                         "consistently. Fix: resume or power it off first.", address=a))
    return out
