"""Test helpers: hand-built migration chains (docs/resources.md) and a simulated apply."""

from __future__ import annotations

from typing import Any

from v2s_test.provider import TestProvider
from v2s_test.types import RESOURCE_TYPES, computed_outputs

from vmware2scw.config.interpolate import resolve
from vmware2scw.desired import Desired, DesiredResource, ProviderBlock
from vmware2scw.plan import Action, Plan
from vmware2scw.plan.scope import topo_order
from vmware2scw.state.model import ResourceState, State, Status

PROVIDERS = {"vmware": "vmware", "qemu": "qemu", "scaleway": "scaleway"}
_OWNER = {
    "vmware_snapshot": "vmware", "disk_export": "vmware", "qcow2_artifact": "qemu",
    "s3_object": "scaleway", "scw_snapshot": "scaleway", "scw_image": "scaleway",
    "scw_server": "scaleway",
}


def chain(name: str, disks: int = 1, *, server_type: str = "PRO2-S",
          prevent_destroy: bool = False, priority: int = 0) -> dict[str, DesiredResource]:
    """The resources one migration expands to, wired like E1's expansion."""
    m = f"migration.{name}"
    res: dict[str, dict[str, Any]] = {}

    def add(addr: str, type_: str, attrs: dict[str, Any], deps: set[str]) -> None:
        res[addr] = {"type": type_, "attributes": attrs, "depends_on": frozenset(deps)}

    snap = f"{m}.vmware_snapshot"
    add(snap, "vmware_snapshot", {"vm": name, "vm_uuid": f"uuid-{name}", "name": "v2s-0000",
                                  "quiesce": True, "power_off_source": False}, set())
    exports = [f"{m}.disk_export[{k}]" for k in range(disks)]
    for k, addr in enumerate(exports):
        add(addr, "disk_export", {
            "vm": name, "disk_key": 2000 + k, "disk_index": k,
            "disk_file": f"[datastore1] {name}/{name}_{k}.vmdk", "datastore": "datastore1",
            "capacity_bytes": 10 * 2**30, "snapshot": f"${{{snap}.snapshot_moref}}",
        }, {snap})
    snapshots = []
    for k in range(disks):
        qcow = f"{m}.qcow2_artifact[{k}]"
        add(qcow, "qcow2_artifact", {
            "vm": name, "disk_index": k, "disks": [f"${{{e}.path}}" for e in exports],
            "disk_sha256": f"${{{exports[k]}.sha256}}", "guest_family": "linux",
            "firmware": "bios", "network": "dhcp", "compress": False, "verify_boot": False,
        }, set(exports))
        obj = f"{m}.s3_object[{k}]"
        add(obj, "s3_object", {
            "source_path": f"${{{qcow}.path}}", "source_sha256": f"${{{qcow}.sha256}}",
            "bucket": "transit", "key": f"0000/{name}/disk{k}.qcow2", "region": "fr-par",
        }, {qcow})
        ssnap = f"{m}.scw_snapshot[{k}]"
        add(ssnap, "scw_snapshot", {
            "name": f"{name}-disk{k}", "zone": "fr-par-1", "bucket": "transit",
            "key": f"${{{obj}.key}}", "size_bytes": 10 * 2**30, "tags": ["v2s"],
        }, {obj})
        snapshots.append(ssnap)
    image = f"{m}.scw_image"
    add(image, "scw_image", {
        "name": name, "zone": "fr-par-1", "arch": "x86_64",
        "root_snapshot_id": f"${{{snapshots[0]}.id}}",
        "extra_snapshot_ids": [f"${{{s}.id}}" for s in snapshots[1:]], "tags": ["v2s"],
    }, set(snapshots))
    add(f"{m}.scw_server", "scw_server", {
        "name": name, "zone": "fr-par-1", "commercial_type": server_type,
        "image_id": f"${{{image}.id}}", "tags": ["v2s"], "security_group": None,
        "public_ip": True, "private_networks": [], "power_on": True, "verify_tcp": [22],
        "source_cpus": 2, "source_memory_mb": 4096,
    }, {image})
    return {
        addr: DesiredResource(
            address=addr, type=r["type"], provider=_OWNER[r["type"]],
            attributes=r["attributes"], depends_on=r["depends_on"],
            transient=RESOURCE_TYPES[r["type"]].transient, migration=name,
            priority=priority, prevent_destroy=prevent_destroy,
        )
        for addr, r in res.items()
    }


def desired(*chains: dict[str, DesiredResource], digest: str = "sha256:cfg") -> Desired:
    """A Desired holding the given chains, served by the test provider."""
    resources: dict[str, DesiredResource] = {}
    for c in chains:
        resources.update(c)
    blocks = {n: ProviderBlock(local_name=n, source="test") for n in PROVIDERS}
    vms = sorted({r.migration for r in resources.values()})
    return Desired(resources=resources, providers=blocks, config_digest=digest,
                   source_digests=dict.fromkeys(vms, "1"))


def providers() -> dict[str, TestProvider]:
    """One in-memory test provider per local name (plan and read need no configure)."""
    return {n: TestProvider() for n in PROVIDERS}


def simulate_apply(plan: Plan, state: State, want: Desired) -> State:
    """What a successful walk would record: creates/updates done, transients tombstoned."""
    resources = dict(state.resources)
    by_address = plan.by_address()
    for address in [a for a in topo_order(want) if a in by_address] + sorted(
        c.address for c in plan.changes if c.address not in want.resources
    ):
        change = by_address[address]
        if change.action is Action.DELETE:
            if change.reason.value == "cleanup":
                old = resources[address]
                resources[address] = old.model_copy(update={"status": Status.TRANSIENT_DONE})
            else:
                resources.pop(address, None)
            continue
        if change.action is Action.NOOP:
            continue
        dr = want.resources[address]

        def lookup(a: str, attr: str) -> Any:
            return resources[a].attributes.get(attr.split("[")[0])

        attrs, _ = resolve(dr.attributes, lookup)
        if change.action.creates:
            gen = sum(1 for r in plan.changes if r.address == address) + state.serial
            attrs = {**attrs, **computed_outputs(dr.type, attrs, f"{address}/{gen}")}
        else:
            prior = resources[address].attributes
            attrs = {**attrs, **{k: prior.get(k) for k in RESOURCE_TYPES[dr.type].computed}}
        resources[address] = ResourceState(
            address=address, type=dr.type, provider=dr.provider, attributes=attrs,
            dependencies=tuple(sorted(dr.depends_on)), migration=dr.migration,
            transient=dr.transient, prevent_destroy=dr.prevent_destroy,
        )
    for address, rs in list(resources.items()):
        if rs.transient and rs.status is Status.CREATED:
            resources[address] = rs.model_copy(update={"status": Status.TRANSIENT_DONE})
    return state.model_copy(update={"resources": resources, "serial": state.serial + 1})
