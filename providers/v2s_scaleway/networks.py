"""Source NICs to Private Networks: one private NIC per mapped NIC, in MAC order."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from vmware2scw.diagnostics import Diagnostic, error, info


def map_networks(
    nics: Sequence[Mapping[str, Any]],
    mapping: Mapping[str, str],
    *,
    drop_unmapped: bool,
    address: str,
) -> tuple[list[str], list[Diagnostic]]:
    """Private Network ids for the NICs (sorted by MAC) and the diagnostics of unmapped ones."""
    out: list[str] = []
    diags: list[Diagnostic] = []
    for nic in sorted(nics, key=lambda n: str(n.get("mac", "")).lower()):
        network = str(nic.get("network", ""))
        mac = str(nic.get("mac", ""))
        if network in mapping:
            out.append(mapping[network])
        elif drop_unmapped:
            diags.append(info(f"NIC {mac} on {network!r} is dropped (no network_mapping entry)",
                              address=address))
        else:
            known = ", ".join(sorted(mapping)) or "none"
            diags.append(error(
                f"NIC {mac} is on port group {network!r}, which network_mapping does not map",
                f"Add `{network}: <private network id>` to network_mapping (mapped: {known}), "
                "or set drop_unmapped_nics: true to migrate without this NIC.",
                address=address,
            ))
    return out, diags
