"""Rebuild the hand-off golden inputs: each case's state.json and observed.json.

    .venv/bin/python -m tests.handoff.build_cases

state.json is what a finished migration leaves (tombstones of the transients, kept
snapshots, image and server); observed.json is what the Scaleway API shows for each
server (the input of the mapping, as ``v2s_scaleway.handoff.observe`` reads it).
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

from v2s_scaleway.handoff import Nic, Observed, PublicIp, Volume

from vmware2scw.state import codec
from vmware2scw.state.model import ResourceState, State, Status

CASES = Path(__file__).parent / "cases"
LINEAGE = "0a1b2c3d-0000-4000-8000-0000000ff0ff"
GB = 1_000_000_000
NS = uuid.UUID("6f1c1d2e-0000-4000-8000-00000000beef")


def uid(*parts: object) -> str:
    return str(uuid.uuid5(NS, "/".join(str(p) for p in parts)))


def migration(name: str, disks: list[int], *, key: str | None = None, public_ip: str = "flexible",
              networks: tuple[str, ...] = (), security_group: str | None = None,
              tags: tuple[str, ...] = ("migrated-from-vmware",), volume_type: str = "sbs_5k",
              zone: str = "fr-par-1") -> tuple[list[ResourceState], Observed]:
    """The records of one finished migration and what the API shows for its server."""
    inst = name if key is None else f'{name}["{key}"]'
    m = f"migration.{inst}"
    recs: list[ResourceState] = []

    def add(rtype: str, attrs: dict[str, Any], *, index: int | None = None, deps=(),
            transient: bool = False, provider: str = "scaleway") -> str:
        address = f"{m}.{rtype}" if index is None else f"{m}.{rtype}[{index}]"
        recs.append(ResourceState(
            address=address, type=rtype, provider=provider, attributes=attrs,
            dependencies=tuple(deps), migration=inst, transient=transient,
            status=Status.TRANSIENT_DONE if transient else Status.CREATED))
        return address

    snap = add("vmware_snapshot", {"vm": name, "snapshot_moref": f"snapshot-{uid(m, 'vs')}"},
               transient=True, provider="vmware")
    exports = [add("disk_export", {"vm": name, "disk_index": k,
                                   "path": f"/work/{name}/disk{k}.raw"},
                   index=k, deps=(snap,), transient=True, provider="vmware")
               for k in range(len(disks))]
    snapshots = []
    for k, size in enumerate(disks):
        q = add("qcow2_artifact", {"disk_index": k, "path": f"/work/{name}/disk{k}.qcow2"},
                index=k, deps=exports, transient=True, provider="qemu")
        s3 = add("s3_object", {"bucket": "v2s-transit",
                               "key": f"{LINEAGE[:8]}/{name}/disk{k}.qcow2"},
                 index=k, deps=(q,), transient=True)
        snapshots.append(add("scw_snapshot", {
            "name": f"{name}-disk{k}", "zone": zone, "size_bytes": size * GB,
            "tags": list(tags), "id": uid(m, "snap", k), "status": "in_use"},
            index=k, deps=(s3,)))
    image = add("scw_image", {"name": f"{name}-image", "zone": zone, "id": uid(m, "image"),
                              "root_snapshot_id": uid(m, "snap", 0), "state": "available"},
                deps=snapshots)
    sid = uid(m, "server")
    volumes = tuple(Volume(id=uid(m, "vol", k), name=f"{name}-disk{k}", size_bytes=size * GB,
                           iops={"sbs_5k": 5000, "sbs_15k": 15000}[volume_type],
                           tags=(f"v2s-lineage={LINEAGE}", f"v2s-address={m}.scw_server", *tags),
                           snapshot_id=uid(m, "snap", k))
                    for k, size in enumerate(disks))
    ips: tuple[PublicIp, ...] = ()
    if public_ip == "flexible":
        ips = (PublicIp(id=uid(m, "ip"), address="51.15.0.10",
                        tags=(f"v2s-lineage={LINEAGE}", f"v2s-address={m}.scw_server", *tags)),)
    elif public_ip == "dynamic":
        ips = (PublicIp(id=uid(m, "ip"), address="51.15.0.11", dynamic=True),)
    nics = tuple(Nic(id=uid(m, "nic", k), private_network_id=pn,
                     tags=(f"v2s-lineage={LINEAGE}", f"v2s-address={m}.scw_server"))
                 for k, pn in enumerate(networks))
    add("scw_server", {
        "name": name, "zone": zone, "commercial_type": "PRO2-S", "image_id": uid(m, "image"),
        "tags": list(tags), "security_group": security_group, "public_ip": public_ip != "none",
        "private_networks": list(networks), "power_on": True, "volume_type": volume_type,
        "id": sid, "state": "running", "volume_ids": [v.id for v in volumes],
        "public_ip_address": ips[0].address if ips else None}, deps=(image,))
    observed = Observed(
        id=sid, zone=zone, name=name, commercial_type="PRO2-S", state="running",
        tags=(f"v2s-lineage={LINEAGE}", f"v2s-address={m}.scw_server", *tags),
        security_group_id=security_group or uid("default-security-group"),
        volumes=volumes, public_ips=ips, nics=nics)
    return recs, observed


PN_FRONT = "aaaaaaaa-0000-4000-8000-00000000000a"
PN_BACK = "bbbbbbbb-0000-4000-8000-00000000000b"
SG = "5ec0c0de-0000-4000-8000-000000005ec0"

CASE_SPECS: dict[str, list[dict[str, Any]]] = {
    "one_disk": [{"name": "web-01", "disks": [20]}],
    "multi_disk": [{"name": "db-01", "disks": [10, 50, 200], "volume_type": "sbs_15k",
                    "public_ip": "dynamic", "security_group": SG, "tags": ("db", "prod")}],
    "private_network": [
        {"name": "app", "key": "app-03", "disks": [30], "public_ip": "none",
         "networks": (PN_FRONT, PN_BACK)},
        {"name": "app", "key": "app.04", "disks": [30, 5], "networks": (PN_BACK,),
         "zone": "nl-ams-1"},
    ],
}


def build(case: str) -> None:
    folder = CASES / case
    folder.mkdir(parents=True, exist_ok=True)
    state = State(lineage=LINEAGE, serial=7, v2s_version="0.1.0")
    observed: dict[str, Any] = {}
    for spec in CASE_SPECS[case]:
        recs, obs = migration(**spec)
        for rs in recs:
            state = state.with_resource(rs)
        server = next(r.address for r in recs if r.type == "scw_server")
        observed[server] = obs.model_dump(mode="json")
    (folder / "state.json").write_bytes(codec.dumps(state))
    (folder / "observed.json").write_text(json.dumps(observed, indent=2, sort_keys=True) + "\n")


if __name__ == "__main__":
    for name in CASE_SPECS:
        build(name)
        print(f"built {name}")
