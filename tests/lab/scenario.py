"""Scenario loader: VMs with chosen hardware, real VMDK-backed disks, and refused features.

A disk is either a real VMDK given by path (a guest built by tests/lab/guest: its
monolithicFlat descriptor and ``-flat`` extent, or any other VMDK, which is converted
with qemu-img) or a fresh sparse flat file of ``capacity_bytes`` with optional ``data``
written at given offsets. Files go into the datastore directory under a sanitised
folder per VM; vcsim's ``CreateVM`` then points the disk at them. A disk on the vSAN-like
datastore (``Disk(datastore=VSAN_DATASTORE)``) has only its descriptor there, naming a
``vsan://`` object kept in vcsim's object store, as on vSAN (no ``-flat.vmdk`` to read).

Refused features: ``rdm``, ``encrypted``, ``vtpm``, ``vgpu`` go through vcsim's lab
endpoint (CreateVM cannot make them); shared disks, PCI passthrough, independent disks,
secure boot and snapshots through the ordinary API.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from v2s_vmware._vmomi import vim
from v2s_vmware.session import Session
from v2s_vmware.settings import resolve

from tests.lab.vcsim import DATASTORE, VSAN_DATASTORE, Vcsim

SECTOR = 512
_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class Disk:
    capacity_bytes: int = 8 << 20
    vmdk: Path | None = None  # a real VMDK to place (capacity then comes from it)
    data: tuple[tuple[int, bytes], ...] = ()  # (offset, bytes) written into a fresh disk
    thin: bool = True
    mode: str = "persistent"  # persistent | independent_persistent | ...
    sharing: str = "sharingNone"  # sharingMultiWriter for a shared disk
    datastore: str = DATASTORE  # or VSAN_DATASTORE


@dataclass(frozen=True)
class Nic:
    adapter: str = "vmxnet3"  # vmxnet3 | e1000 | e1000e
    network: str = "VM Network"


@dataclass(frozen=True)
class VM:
    name: str
    guest_id: str = "debian12_64Guest"
    firmware: str = "bios"  # bios | efi
    secure_boot: bool = False
    cpus: int = 1
    memory_mb: int = 1024
    controller: str = "pvscsi"  # pvscsi | lsilogic
    disks: tuple[Disk, ...] = (Disk(),)
    nics: tuple[Nic, ...] = (Nic(),)
    power_on: bool = True
    snapshots: tuple[str, ...] = ()
    features: tuple[str, ...] = ()  # rdm | encrypted | vtpm | vgpu | pci_passthrough


@dataclass
class Loaded:
    """What the loader made: VM morefs and disk files (datastore paths and local paths)."""

    morefs: dict[str, str] = field(default_factory=dict)
    disk_files: dict[str, list[str]] = field(default_factory=dict)
    local_files: dict[str, list[Path]] = field(default_factory=dict)  # the -flat extents


def safe_dir(name: str) -> str:
    """A folder name for a VM name from vCenter (no separators, no dot-dot)."""
    cleaned = _SAFE.sub("_", name).strip("._")
    return cleaned[:80] or "vm"


def descriptor(flat_name: str, capacity: int, *, adapter: str = "lsilogic", thin: bool = True
               ) -> str:
    """A monolithicFlat VMDK descriptor for one flat extent."""
    sectors = (capacity + SECTOR - 1) // SECTOR
    cyl = max(1, sectors // (255 * 63))
    return (
        "# Disk DescriptorFile\nversion=1\nCID=fffffffe\nparentCID=ffffffff\n"
        'createType="monolithicFlat"\n\n# Extent description\n'
        f'RW {sectors} FLAT "{flat_name}" 0\n\n# The Disk Data Base\n#DDB\n\n'
        f'ddb.adapterType = "{adapter}"\nddb.geometry.cylinders = "{cyl}"\n'
        'ddb.geometry.heads = "255"\nddb.geometry.sectors = "63"\n'
        f'ddb.thinProvisioned = "{1 if thin else 0}"\nddb.virtualHWVersion = "13"\n'
    )


def _flat_of(vmdk: Path) -> Path | None:
    """The flat extent named by a monolithicFlat descriptor, or None for other formats."""
    try:
        head = vmdk.read_bytes()[:65536].decode("latin-1")
    except OSError:
        return None
    m = re.search(r'createType="monolithicFlat".*?^RW\s+\d+\s+FLAT\s+"([^"]+)"', head, re.S | re.M)
    return vmdk.parent / m.group(1) if m else None


def _place_file(src: Path, dst: Path) -> None:
    """Hard-link when possible (vcsim breaks the link before a guest write), else a sparse copy."""
    try:
        os.link(src, dst)
    except OSError:
        subprocess.run(["cp", "--sparse=always", str(src), str(dst)], check=True)


def place_vmdk(src: Path, folder: Path, stem: str, *, adapter: str, thin: bool) -> int:
    """Put ``<stem>.vmdk`` + ``<stem>-flat.vmdk`` made from ``src`` into ``folder``; capacity."""
    flat_dst = folder / f"{stem}-flat.vmdk"
    flat = _flat_of(src)
    if flat is None:  # streamOptimized, sparse, raw...: make it flat with qemu-img
        with tempfile.TemporaryDirectory(prefix="v2s-scenario-") as tmp:
            out = Path(tmp) / "disk.vmdk"
            subprocess.run(["qemu-img", "convert", "-O", "vmdk", "-o", "subformat=monolithicFlat",
                            str(src), str(out)], check=True, capture_output=True)
            shutil.move(str(Path(tmp) / "disk-flat.vmdk"), flat_dst)
    else:
        _place_file(flat, flat_dst)
    size = flat_dst.stat().st_size
    (folder / f"{stem}.vmdk").write_text(descriptor(flat_dst.name, size, adapter=adapter,
                                                    thin=thin))
    return size


def vsan_descriptor(object_id: str, capacity: int, *, adapter: str = "lsilogic") -> str:
    """A vSAN-style descriptor: one VMFS extent naming a ``vsan://`` object (no flat file)."""
    sectors = (capacity + SECTOR - 1) // SECTOR
    return (
        "# Disk DescriptorFile\nversion=4\nencoding=\"UTF-8\"\nCID=fffffffe\n"
        'parentCID=ffffffff\ncreateType="vmfs"\n\n# Extent description\n'
        f'RW {sectors} VMFS "vsan://{object_id}"\n\n# The Disk Data Base\n#DDB\n\n'
        f'ddb.adapterType = "{adapter}"\nddb.thinProvisioned = "1"\n'
        f'ddb.objectId = "vsan://{object_id}"\nddb.virtualHWVersion = "13"\n'
    )


def _to_vsan(folder: Path, stem: str, objects: Path, adapter: str) -> Path:
    """Move a placed disk's flat extent into the object store; leave a vSAN descriptor (and
    an empty placeholder extent, removed after CreateVM: the library insists on one)."""
    flat = folder / f"{stem}-flat.vmdk"
    object_id = "52" + uuid.uuid4().hex[2:]
    target = objects / object_id
    flat.rename(target)
    flat.touch()
    (folder / f"{stem}.vmdk").write_text(vsan_descriptor(object_id, target.stat().st_size,
                                                         adapter=adapter))
    return target


def _fresh_disk(folder: Path, stem: str, disk: Disk, adapter: str) -> int:
    flat = folder / f"{stem}-flat.vmdk"
    with flat.open("wb") as f:
        f.truncate(disk.capacity_bytes)
        for offset, data in disk.data:
            f.seek(offset)
            f.write(data)
    (folder / f"{stem}.vmdk").write_text(descriptor(flat.name, disk.capacity_bytes,
                                                    adapter=adapter, thin=disk.thin))
    return disk.capacity_bytes


def _controller(kind: str) -> Any:
    cls = {"pvscsi": vim.vm.device.ParaVirtualSCSIController,
           "lsilogic": vim.vm.device.VirtualLsiLogicController}[kind]
    return cls(key=1000, busNumber=0, sharedBus="noSharing")


def _nic(nic: Nic, key: int) -> Any:
    cls = {"vmxnet3": vim.vm.device.VirtualVmxnet3, "e1000": vim.vm.device.VirtualE1000,
           "e1000e": vim.vm.device.VirtualE1000e}[nic.adapter]
    backing = vim.vm.device.VirtualEthernetCard.NetworkBackingInfo(deviceName=nic.network)
    return cls(key=key, backing=backing, addressType="generated",
               connectable=vim.vm.device.VirtualDevice.ConnectInfo(
                   connected=True, startConnected=True, allowGuestControl=True))


def _add(dev: Any, file_op: str | None = None) -> Any:
    spec = vim.vm.device.VirtualDeviceSpec(operation="add", device=dev)
    if file_op:
        spec.fileOperation = file_op
    return spec


class ScenarioLoader:
    """Creates scenario VMs in a running vcsim through the vSphere API (pyvmomi)."""

    def __init__(self, vc: Vcsim) -> None:
        self.vc = vc
        self.session = Session(resolve(vc.settings(), {}))

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> ScenarioLoader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _placement(self) -> tuple[Any, Any, Any]:
        """(vm folder, resource pool, host) of the first cluster."""
        content = self.session.content
        dc = next(e for e in content.rootFolder.childEntity if isinstance(e, vim.Datacenter))
        cluster = next(e for e in dc.hostFolder.childEntity
                       if isinstance(e, vim.ClusterComputeResource))
        return dc.vmFolder, cluster.resourcePool, cluster.host[0]

    def load(self, vms: Iterable[VM]) -> Loaded:
        """Create every VM (and its disk files); returns their morefs and files."""
        loaded = Loaded()
        folder_obj, pool, host = self._placement()
        for vm in vms:
            self._one(vm, folder_obj, pool, host, loaded)
        return loaded

    def _one(self, vm: VM, folder_obj: Any, pool: Any, host: Any, loaded: Loaded) -> None:
        s = self.session
        dirname = safe_dir(vm.name)
        adapter = "lsilogic" if vm.controller == "lsilogic" else "pvscsi"
        devices = [_add(_controller(vm.controller))]
        files: list[str] = []
        for k, disk in enumerate(vm.disks):
            stem = f"{dirname}_{k}"
            local = self.vc.datastore_dir(disk.datastore) / dirname
            local.mkdir(parents=True, exist_ok=True)
            if disk.vmdk is not None:
                capacity = place_vmdk(disk.vmdk, local, stem, adapter=adapter, thin=disk.thin)
            else:
                capacity = _fresh_disk(local, stem, disk, adapter)
            data_file = local / f"{stem}-flat.vmdk"
            if disk.datastore == VSAN_DATASTORE:
                data_file = _to_vsan(local, stem, self.vc.vsan_objects_dir, adapter)
            path = f"[{disk.datastore}] {dirname}/{stem}.vmdk"
            files.append(path)
            loaded.local_files.setdefault(vm.name, []).append(data_file)
            backing = vim.vm.device.VirtualDisk.FlatVer2BackingInfo(
                fileName=path, diskMode=disk.mode, thinProvisioned=disk.thin,
                sharing=disk.sharing)
            devices.append(_add(vim.vm.device.VirtualDisk(
                key=2000 + k, controllerKey=1000, unitNumber=k if k < 7 else k + 1,
                capacityInKB=(capacity + 1023) // 1024, backing=backing)))
        devices += [_add(_nic(n, 4000 + i)) for i, n in enumerate(vm.nics)]
        if "pci_passthrough" in vm.features:
            devices.append(_add(vim.vm.device.VirtualPCIPassthrough(
                key=13000, backing=vim.vm.device.VirtualPCIPassthrough.DeviceBackingInfo(
                    id="0000:3b:00.0", deviceId="1db4", systemId="lab", vendorId=0x10DE,
                    deviceName="Tesla V100"))))
        (self.vc.datastore_dir(DATASTORE) / dirname).mkdir(parents=True, exist_ok=True)
        spec = vim.vm.ConfigSpec(
            name=vm.name, guestId=vm.guest_id, numCPUs=vm.cpus, memoryMB=vm.memory_mb,
            firmware=vm.firmware, deviceChange=devices,
            files=vim.vm.FileInfo(vmPathName=f"[{DATASTORE}] {dirname}/{dirname}.vmx"),
            bootOptions=vim.vm.BootOptions(efiSecureBootEnabled=vm.secure_boot)
            if vm.firmware == "efi" else None,
        )
        task = s.call(lambda _c: folder_obj.CreateVM_Task(config=spec, pool=pool, host=host))
        ref = s.wait_task(task, what=f"creating scenario VM {vm.name}")
        for disk, path in zip(vm.disks, files, strict=True):
            if disk.datastore == VSAN_DATASTORE:  # the placeholder extent goes
                rel = Path(path.split("] ", 1)[1])
                (self.vc.datastore_dir(VSAN_DATASTORE) / rel.parent
                 / f"{rel.stem}-flat.vmdk").unlink()
        for feature in ("rdm", "encrypted", "vtpm", "vgpu"):
            if feature in vm.features:
                self.vc.patch(ref._moId, "encrypt" if feature == "encrypted" else feature)
        if vm.power_on:
            s.wait_task(s.call(lambda _c: ref.PowerOnVM_Task()), what="power on")
        for name in vm.snapshots:
            s.wait_task(s.call(lambda _c, n=name: ref.CreateSnapshot_Task(
                name=n, description="user snapshot", memory=False, quiesce=False)),
                what="snapshot")
        loaded.morefs[vm.name] = str(ref._moId)
        loaded.disk_files[vm.name] = files


def load(vc: Vcsim, vms: Sequence[VM]) -> Loaded:
    """Create the scenario's VMs in ``vc`` (one session, logged out at the end)."""
    with ScenarioLoader(vc) as loader:
        return loader.load(vms)
