"""Shared builders for config tests: VM facts and a static inventory."""

from __future__ import annotations

from vmware2scw.config import loads, static_inventory
from vmware2scw.config.expand import InventoryFn
from vmware2scw.desired import Desired
from vmware2scw.provider import DiskFacts, NicFacts, VMFacts

GIB = 1024**3
LINEAGE = "0123abcd-0000-4000-8000-000000000000"
PROVIDERS = """
providers:
  vmware: { source: test }
  qemu: { source: test }
  scaleway: { source: test }
"""


def vm(name: str, disks: int = 1, nics: tuple[tuple[str, str], ...] = (), **kw: object) -> VMFacts:
    """A VM with ``disks`` 10 GiB disks and NICs given as (mac, port group)."""
    return VMFacts(
        name=name,
        instance_uuid=f"uuid-{name}",
        change_version=f"cv-{name}",
        disks=tuple(
            DiskFacts(
                key=2000 + i,
                label=f"Hard disk {i + 1}",
                capacity_bytes=10 * GIB,
                file=f"[ds1] {name}/{name}_{i}.vmdk",
                datastore="ds1",
            )
            for i in range(disks)
        ),
        nics=tuple(NicFacts(mac=mac, network=net) for mac, net in nics),
        **kw,  # type: ignore[arg-type]
    )


def inventory(*vms: VMFacts) -> InventoryFn:
    """A static inventory hook that records its calls in ``.calls``."""
    inner = static_inventory(vms)
    calls: list[tuple[str, tuple[str, ...]]] = []

    def hook(provider: str, patterns: tuple[str, ...]):  # type: ignore[no-untyped-def]
        calls.append((provider, patterns))
        return inner(provider, patterns)

    hook.calls = calls  # type: ignore[attr-defined]
    return hook


def expand_text(
    text: str, *vms: VMFacts, environ: dict[str, str] | None = None, **kw: object
) -> Desired:
    """Load YAML text and expand it against the given VMs."""
    from vmware2scw.config import expand

    loaded = loads(text, environ=environ or {}, **kw)
    desired, _ = expand(loaded, lineage=LINEAGE, inventory=inventory(*vms))
    return desired
