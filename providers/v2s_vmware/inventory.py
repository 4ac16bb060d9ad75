"""Inventory: every VM's facts in ONE PropertyCollector retrieval, turned into ``VMFacts``.

One ContainerView over VMs, hosts, compute resources, datastores and portgroups; one
``RetrievePropertiesEx`` for all of them, read by propxml.py; ``DestroyView``. The number
of SOAP calls does not depend on the number of VMs.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from typing import Any

from v2s_vmware import propxml
from v2s_vmware._vmomi import vim, vmodl
from v2s_vmware.propxml import is_a
from v2s_vmware.session import Session, container_view_spec
from vmware2scw.config.patterns import name_filter
from vmware2scw.gcpause import paused_gc
from vmware2scw.provider import DiskFacts, NicFacts, VMFacts

VM_PROPS = [
    "name",
    "config.template",
    "config.instanceUuid",
    "config.guestId",
    "config.firmware",
    "config.bootOptions.efiSecureBootEnabled",
    "config.hardware.numCPU",
    "config.hardware.memoryMB",
    "config.hardware.device",
    "config.changeVersion",
    "config.keyId",
    "runtime.powerState",
    "runtime.host",
    "datastore",
    "guest.net",
    "guest.toolsStatus",
    "snapshot",
]
OTHER_PROPS: dict[Any, list[str]] = {
    vim.HostSystem: ["name", "parent"],
    vim.ComputeResource: ["name"],
    vim.Datastore: ["name"],
    vim.dvs.DistributedVirtualPortgroup: ["name", "key"],
}

_CONTROLLERS = [
    (vim.vm.device.ParaVirtualSCSIController, "pvscsi"),
    (vim.vm.device.VirtualLsiLogicSASController, "lsilogic-sas"),
    (vim.vm.device.VirtualLsiLogicController, "lsilogic"),
    (vim.vm.device.VirtualBusLogicController, "buslogic"),
    (vim.vm.device.VirtualAHCIController, "sata"),
    (vim.vm.device.VirtualIDEController, "ide"),
    (vim.vm.device.VirtualNVMEController, "nvme"),
]
_NICS = [
    (vim.vm.device.VirtualVmxnet3, "vmxnet3"),
    (vim.vm.device.VirtualVmxnet2, "vmxnet2"),
    (vim.vm.device.VirtualE1000e, "e1000e"),
    (vim.vm.device.VirtualE1000, "e1000"),
    (vim.vm.device.VirtualPCNet32, "pcnet32"),
    (vim.vm.device.VirtualSriovEthernetCard, "sriov"),
]
_WINDOWS = ("win",)
_LINUX = (
    "linux", "ubuntu", "debian", "rhel", "centos", "sles", "suse", "opensuse", "oracle",
    "fedora", "mandr", "redhat", "asianux", "turbo", "photon", "coreos", "amazonlinux",
    "rocky", "alma", "miracle", "kylin", "fusionos", "prolinux", "pardus", "vmwarephoton",
)


def guest_family(guest_id: str) -> str:
    """linux | windows | other, from the configured guestId (tools not needed)."""
    gid = guest_id.lower()
    if gid.startswith(_WINDOWS):
        return "windows"
    if any(token in gid for token in _LINUX):
        return "linux"
    return "other"


def _kind(obj: Any, table: list[tuple[Any, str]], default: str = "") -> str:
    for cls, name in table:
        if is_a(obj, cls):
            return name
    return default


def _snapshot_names(tree: Iterable[Any]) -> list[str]:
    out: list[str] = []
    for node in tree or ():
        out.append(str(node.name))
        out.extend(_snapshot_names(node.childSnapshotList))
    return out


def _disk(dev: Any, controllers: dict[int, Any], ds_names: dict[str, str]) -> DiskFacts:
    backing = dev.backing
    file_name = str(getattr(backing, "fileName", "") or "")
    ds_ref = getattr(backing, "datastore", None)
    datastore = ds_names.get(ds_ref._moId, "") if ds_ref is not None else ""
    if not datastore and file_name.startswith("["):
        datastore = file_name[1 : file_name.index("]")]
    capacity = int(getattr(dev, "capacityInBytes", 0) or 0) or int(dev.capacityInKB or 0) * 1024
    controller = controllers.get(dev.controllerKey)
    sharing = str(getattr(backing, "sharing", "") or "sharingNone")
    return DiskFacts(
        key=int(dev.key),
        label=str(getattr(dev.deviceInfo, "label", "") or f"disk {dev.key}"),
        capacity_bytes=capacity,
        file=file_name,
        datastore=datastore,
        thin=bool(getattr(backing, "thinProvisioned", False)),
        controller=_kind(controller, _CONTROLLERS, "unknown"),
        mode=str(getattr(backing, "diskMode", "") or "persistent"),
        sharing=sharing,
        rdm=is_a(backing, vim.vm.device.VirtualDisk.RawDiskMappingVer1BackingInfo),
        encrypted=getattr(backing, "keyId", None) is not None,
    )


def _nic(dev: Any, ips: dict[str, tuple[str, ...]], pg_names: dict[str, str]) -> NicFacts:
    backing = dev.backing
    network = str(getattr(backing, "deviceName", "") or "")
    port = getattr(backing, "port", None)
    if not network and port is not None:
        network = pg_names.get(str(port.portgroupKey), str(port.portgroupKey))
    if not network:  # NSX opaque network
        network = str(getattr(backing, "opaqueNetworkId", "") or "")
    mac = str(dev.macAddress or "").lower()
    conn = dev.connectable
    return NicFacts(
        mac=mac,
        adapter=_kind(dev, _NICS, "other"),
        network=network,
        connected=bool(conn.connected or conn.startConnected) if conn is not None else True,
        ips=ips.get(mac, ()),
    )


def _features(devices: list[Any], key_id: Any, controllers: dict[int, Any]) -> list[str]:
    found: set[str] = set()
    if key_id is not None:
        found.add("encrypted")
    for dev in devices:
        if is_a(dev, vim.vm.device.VirtualPCIPassthrough):
            vmiop = vim.vm.device.VirtualPCIPassthrough.VmiopBackingInfo
            found.add("vgpu" if is_a(dev.backing, vmiop) else "pci_passthrough")
        elif is_a(dev, vim.vm.device.VirtualSriovEthernetCard):
            found.add("pci_passthrough")
        elif is_a(dev, vim.vm.device.VirtualTPM):
            found.add("vtpm")
    for ctrl in controllers.values():
        if str(getattr(ctrl, "sharedBus", "noSharing") or "noSharing") != "noSharing":
            found.add("scsi_bus_sharing")
    return sorted(found)


def change_digest(props: dict[str, Any]) -> str:
    """Fallback for ``changeVersion`` (vcsim leaves it empty): a digest of the VM's config."""
    devices = props.get("config.hardware.device") or []
    sig = [
        props.get("name"), props.get("config.guestId"), props.get("config.firmware"),
        props.get("config.hardware.numCPU"), props.get("config.hardware.memoryMB"),
        [(propxml.type_name(d), d.key, getattr(d, "capacityInKB", None),
          getattr(getattr(d, "backing", None), "fileName", None)) for d in devices],
    ]
    return "digest:" + hashlib.sha256(json.dumps(sig, default=str).encode()).hexdigest()[:16]


def vm_facts(moref: Any, props: dict[str, Any], names: dict[str, dict[str, Any]]) -> VMFacts:
    """Facts of one VM from its retrieved properties (``names``: other objects' properties)."""
    devices = list(props.get("config.hardware.device") or [])
    controllers = {d.key: d for d in devices if is_a(d, vim.vm.device.VirtualController)}
    ds_names = {k: v.get("name", "") for k, v in names.get("Datastore", {}).items()}
    pg_names = {str(v.get("key")): str(v.get("name")) for v in names.get("Portgroup", {}).values()}
    ips: dict[str, tuple[str, ...]] = {}
    for net in props.get("guest.net") or []:
        ips[str(net.macAddress or "").lower()] = tuple(str(ip) for ip in net.ipAddress or ())
    host_ref = props.get("runtime.host")
    host = names.get("HostSystem", {}).get(host_ref._moId, {}) if host_ref is not None else {}
    parent = host.get("parent")
    cluster = ""
    if parent is not None and is_a(parent, vim.ClusterComputeResource):
        cluster = str(names.get("ComputeResource", {}).get(parent._moId, {}).get("name", ""))
    snap = props.get("snapshot")
    guest_id = str(props.get("config.guestId") or "")
    datastores = props.get("datastore") or []
    disk_cls, nic_cls = vim.vm.device.VirtualDisk, vim.vm.device.VirtualEthernetCard
    return VMFacts(
        name=str(props.get("name", "")),
        instance_uuid=str(props.get("config.instanceUuid") or ""),
        moref=str(moref._moId),
        num_cpus=int(props.get("config.hardware.numCPU") or 1),
        memory_mb=int(props.get("config.hardware.memoryMB") or 0),
        guest_id=guest_id,
        guest_family=guest_family(guest_id),
        firmware="efi" if props.get("config.firmware") == "efi" else "bios",
        secure_boot=bool(props.get("config.bootOptions.efiSecureBootEnabled")),
        power_state=str(props.get("runtime.powerState") or "poweredOff"),
        host=str(host.get("name", "")),
        cluster=cluster,
        datastores=tuple(sorted(ds_names.get(d._moId, d._moId) for d in datastores)),
        disks=tuple(_disk(d, controllers, ds_names) for d in devices if is_a(d, disk_cls)),
        nics=tuple(_nic(d, ips, pg_names) for d in devices if is_a(d, nic_cls)),
        snapshots=tuple(_snapshot_names(snap.rootSnapshotList) if snap is not None else ()),
        tools_status=str(props.get("guest.toolsStatus") or ""),
        change_version=str(props.get("config.changeVersion") or "") or change_digest(props),
        features=tuple(_features(devices, props.get("config.keyId"), controllers)),
    )


def _group(obj: Any) -> str:
    if is_a(obj, vim.HostSystem):
        return "HostSystem"
    if is_a(obj, vim.ComputeResource):
        return "ComputeResource"
    if is_a(obj, vim.Datastore):
        return "Datastore"
    if is_a(obj, vim.dvs.DistributedVirtualPortgroup):
        return "Portgroup"
    return "VirtualMachine"


def retrieve_all(session: Session) -> list[tuple[Any, dict[str, Any]]]:
    """Raw properties of every object the inventory needs, in one retrieval."""
    types = [vim.VirtualMachine, *OTHER_PROPS]
    content = session.content
    view, obj_spec = session.call(lambda c: container_view_spec(c, types))
    try:
        pc = vmodl.query.PropertyCollector
        prop_specs = [pc.PropertySpec(type=vim.VirtualMachine, pathSet=VM_PROPS)]
        prop_specs += [pc.PropertySpec(type=t, pathSet=p) for t, p in OTHER_PROPS.items()]
        return propxml.retrieve(session, [obj_spec], prop_specs)
    finally:
        if content is session.content:  # the view belongs to this session
            view.DestroyView()


def inventory(session: Session, patterns: Iterable[str] = ()) -> list[VMFacts]:
    """Facts of every VM (not template) whose name matches one of the globs (all when none)."""
    wanted = name_filter(patterns)
    with paused_gc():  # tens of thousands of small objects, no cycles
        return _facts(retrieve_all(session), wanted)


def _facts(rows: list[tuple[Any, dict[str, Any]]], wanted: Callable[[str], bool]
           ) -> list[VMFacts]:
    names: dict[str, dict[str, Any]] = {}
    vms: list[tuple[Any, dict[str, Any]]] = []
    for obj, props in rows:
        group = _group(obj)
        if group == "VirtualMachine":
            vms.append((obj, props))
        else:
            names.setdefault(group, {})[obj._moId] = props
    out = []
    for obj, props in vms:
        name = str(props.get("name", ""))
        if props.get("config.template") or not wanted(name):
            continue
        out.append(vm_facts(obj, props, names))
    return sorted(out, key=lambda f: (f.name, f.moref))


def datacenters(session: Session) -> dict[str, set[str]]:
    """Inventory path of every datacenter (``dcPath``) -> names of its datastores."""
    types = [vim.Datacenter, vim.Folder, vim.Datastore]
    content = session.content
    view, obj_spec = session.call(lambda c: container_view_spec(c, types))
    pc = vmodl.query.PropertyCollector
    try:
        rows = session.retrieve([obj_spec], [
            pc.PropertySpec(type=vim.Datacenter, pathSet=["name", "parent", "datastore"]),
            pc.PropertySpec(type=vim.Folder, pathSet=["name", "parent"]),
            pc.PropertySpec(type=vim.Datastore, pathSet=["name"]),
        ])
    finally:
        if content is session.content:
            view.DestroyView()
    by_id = {obj._moId: props for obj, props in rows}
    root = content.rootFolder._moId
    out: dict[str, set[str]] = {}
    for obj, props in rows:
        if not isinstance(obj, vim.Datacenter):
            continue
        parts, parent = [str(props.get("name", ""))], props.get("parent")
        while parent is not None and parent._moId != root and parent._moId in by_id:
            parts.append(str(by_id[parent._moId].get("name", "")))
            parent = by_id[parent._moId].get("parent")
        stores = {str(by_id.get(d._moId, {}).get("name", "")) for d in props.get("datastore") or []}
        out["/".join(reversed(parts))] = stores
    return out
