"""Data behind `v2s inventory`: table rows, and a starter ``migrations:`` block per VM.

The suggested Scaleway type is the cheapest x86_64 type of the catalogue with at least
the VM's vCPUs and memory (catalogue: the Scaleway products/servers map).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

import yaml

from vmware2scw.config.interpolate import ESCAPE, OPEN
from vmware2scw.config.patterns import literal
from vmware2scw.provider import VMFacts

_KEY = re.compile(r"[^a-z0-9-]+")


def rows(vms: Iterable[VMFacts]) -> list[dict[str, Any]]:
    """One flat row per VM for a table, JSON or YAML."""
    return [
        {
            "name": vm.name,
            "power": vm.power_state,
            "cpus": vm.num_cpus,
            "memory_mb": vm.memory_mb,
            "guest": vm.guest_id,
            "firmware": vm.firmware,
            "disks": len(vm.disks),
            "disk_gb": round(sum(d.capacity_bytes for d in vm.disks) / 1e9, 1),
            "nics": len(vm.nics),
            "host": vm.host,
            "snapshots": len(vm.snapshots),
            "features": ",".join(vm.features),
        }
        for vm in vms
    ]


def suggest_type(vm: VMFacts, catalogue: Mapping[str, Mapping[str, Any]]) -> str | None:
    """Cheapest type with enough vCPUs and memory (ties: fewest vCPUs, then name)."""
    fits = []
    for name, t in catalogue.items():
        if str(t.get("arch", "x86_64")) != "x86_64":
            continue
        ram_mb = int(t.get("ram", 0)) // 2**20
        if int(t.get("ncpus", 0)) >= vm.num_cpus and ram_mb >= vm.memory_mb:
            price = float(t.get("monthly_price", t.get("hourly_price", 0)) or 0)
            fits.append((price, int(t.get("ncpus", 0)), name))
    return min(fits)[2] if fits else None


def migration_key(name: str) -> str:
    """A migration name derived from a VM name (lower case, letters, digits and '-')."""
    return _KEY.sub("-", name.lower()).strip("-")[:63] or "vm"


def source_vm(name: str) -> str:
    """``source.vm`` selecting exactly the VM ``name``: glob characters and ``${`` escaped."""
    return literal(name).replace(OPEN, ESCAPE)


def starter_block(vms: Iterable[VMFacts], catalogue: Mapping[str, Mapping[str, Any]] | None
                  = None) -> dict[str, Any]:
    """``{"migrations": {...}}``: one migration per VM with a suggested target type."""
    out: dict[str, Any] = {}
    for vm in vms:
        key = migration_key(vm.name)
        while key in out:
            key += "-x"
        kind = suggest_type(vm, catalogue) if catalogue else None
        target: dict[str, Any] = {"type": kind or "CHOOSE-A-TYPE"}
        entry: dict[str, Any] = {"source": {"vm": source_vm(vm.name)}, "target": target}
        out[key] = entry
    return {"migrations": out}


def starter_yaml(vms: Iterable[VMFacts], catalogue: Mapping[str, Mapping[str, Any]] | None
                 = None) -> str:
    """The starter block as YAML text, ready to paste into v2s.yaml."""
    return yaml.safe_dump(starter_block(vms, catalogue), sort_keys=False, allow_unicode=True)
