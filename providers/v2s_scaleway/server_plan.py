"""Plan-time work for ``scw_server``: private networks from a mapping, type checks, prices."""

from __future__ import annotations

from typing import Any

from vmware2scw.diagnostics import Diagnostic, error, warning
from vmware2scw.provider import Attrs

from .catalogue import Catalogue, Offer
from .networks import map_networks


def resolve_networks(desired: Attrs, drop_default: bool, address: str
                     ) -> tuple[Attrs, list[Diagnostic]]:
    """Turn ``network_mapping`` + ``source_nics`` (if given) into ``private_networks``."""
    desired = dict(desired)
    diags: list[Diagnostic] = []
    mapping = desired.pop("network_mapping", None)
    nics = desired.pop("source_nics", None)
    drop = desired.pop("drop_unmapped_nics", None)
    drop = drop_default if drop is None else bool(drop)
    if mapping is not None or nics is not None:
        pns, diags = map_networks(nics or [], mapping or {}, drop_unmapped=drop, address=address)
        if desired.get("private_networks") is None:
            desired["private_networks"] = pns
    return desired, diags


def notes(
    catalogue: Catalogue, zone: str, address: str, prior: Attrs | None, planned: Attrs,
    unknown: set[str], new: bool,
) -> list[Diagnostic]:
    """Unknown or undersized type, the price of a new server (sets ``monthly_price``),
    and the stop/start a type change costs. Pure: the catalogue was read by refresh."""
    diags: list[Diagnostic] = []
    ctype = planned.get("commercial_type")
    offer: Offer | None = None
    if ctype and "commercial_type" not in unknown:
        offers = catalogue.cached(zone)
        if offers is None:
            return [warning("instance catalogue not read: type not checked, price not shown",
                            "the catalogue is read by refresh; plan without -no-refresh "
                            "(or refresh failed: see its warning)", address=address)]
        offer = offers.get(str(ctype))
        if offer is None:
            near = ", ".join(sorted(offers)[:8])
            return [error(f"unknown commercial type {ctype!r} in {zone}",
                          f"Known types include: {near}", address=address)]
        diags += _undersized(offer, planned, address)
    if new and offer is not None:  # the plan renderers show it and the plan's total
        planned["monthly_price"] = offer.monthly_price
        unknown.discard("monthly_price")
    if not new and prior and prior.get("commercial_type") != ctype:
        diags.append(warning(
            f"changing the type {prior.get('commercial_type')} -> {ctype} stops and starts "
            "the server", address=address))
    return diags


def _undersized(offer: Offer, planned: dict[str, Any], address: str) -> list[Diagnostic]:
    cpus, mem = planned.get("source_cpus"), planned.get("source_memory_mb")
    if (cpus and offer.ncpus < int(cpus)) or (mem and offer.memory_mb < int(mem)):
        return [warning(f"{offer.name} has {offer.ncpus} vCPU / {offer.memory_mb} MiB, "
                        f"less than the VM's {cpus} vCPU / {mem} MiB", address=address)]
    return []
