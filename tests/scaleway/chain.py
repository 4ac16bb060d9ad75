"""Drive one migration's Scaleway chain through the provider protocol (no walker)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from v2s_scaleway.provider import ScalewayProvider

from vmware2scw.provider import ApplyRequest, DeleteRequest, PlanRequest
from vmware2scw.testing import RecordingContext

TYPES = ("s3_object", "scw_snapshot", "scw_image", "scw_server")


def addresses(migration: str) -> dict[str, str]:
    return {
        "s3_object": f"migration.{migration}.s3_object[0]",
        "scw_snapshot": f"migration.{migration}.scw_snapshot[0]",
        "scw_image": f"migration.{migration}.scw_image",
        "scw_server": f"migration.{migration}.scw_server",
    }


def desired(migration: str, qcow2: Path, bucket: str, lineage: str,
            **server: Any) -> dict[str, dict[str, Any]]:
    sha = hashlib.sha256(qcow2.read_bytes()).hexdigest()
    key = f"{lineage[:8]}/{migration}/disk0.qcow2"
    return {
        "s3_object": {"source_path": str(qcow2), "source_sha256": sha, "bucket": bucket,
                      "key": key, "region": "fr-par"},
        "scw_snapshot": {"name": f"{migration}-disk0", "zone": "fr-par-1", "bucket": bucket,
                         "key": key, "size_bytes": 1024**3, "tags": ["migrated"]},
        "scw_image": {"name": f"{migration}", "zone": "fr-par-1", "arch": "x86_64",
                      "root_snapshot_id": None, "extra_snapshot_ids": [], "tags": ["migrated"]},
        "scw_server": {"name": migration, "zone": "fr-par-1", "commercial_type": "PRO2-XXS",
                       "image_id": None, "tags": ["migrated"], "security_group": None,
                       "public_ip": True, "private_networks": [], "power_on": True,
                       "verify_tcp": [], "source_cpus": 1, "source_memory_mb": 1024,
                       **server},
    }


def apply_chain(prov: ScalewayProvider, migration: str, want: dict[str, dict[str, Any]],
                lineage: str, state: dict[str, dict[str, Any]] | None = None,
                types: tuple[str, ...] = TYPES) -> dict[str, dict[str, Any]]:
    """Plan + apply each type in order, wiring ids like the walker; returns attributes."""
    state = {} if state is None else state
    addr = addresses(migration)
    for typ in types:
        attrs = dict(want[typ])
        if typ == "scw_image":
            attrs["root_snapshot_id"] = state[addr["scw_snapshot"]]["id"]
        if typ == "scw_server":
            attrs["image_id"] = state[addr["scw_image"]]["id"]
        prior = state.get(addr[typ])
        plan = prov.plan(PlanRequest(address=addr[typ], type=typ, prior=prior, desired=attrs))
        ctx = RecordingContext(addr[typ], lineage=lineage)
        res = prov.apply(ApplyRequest(address=addr[typ], type=typ, prior=prior,
                                      planned={**plan.planned, **attrs}), ctx)
        state[addr[typ]] = res.attributes
    return state


def destroy_chain(prov: ScalewayProvider, state: dict[str, dict[str, Any]], lineage: str
                  ) -> None:
    """Delete in reverse order, like `v2s destroy`."""
    order = {t: i for i, t in enumerate(TYPES)}
    for address in sorted(state, key=lambda a: -order[a.rsplit(".", 1)[1].split("[")[0]]):
        typ = address.rsplit(".", 1)[1].split("[")[0]
        prov.delete(DeleteRequest(address=address, type=typ, prior=state[address]),
                    RecordingContext(address, lineage=lineage))
