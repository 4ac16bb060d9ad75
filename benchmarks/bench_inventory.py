"""Benchmark: inventory of 500 and 1,000 vcsim VMs — time and SOAP calls.

The number of SOAP calls must not grow with the VM count (one retrieval for all VMs);
the lazy per-VM read is the baseline measured in the same process for the ratio.
Run: ``.venv/bin/pytest -q -s -m bench benchmarks/bench_inventory.py`` or
``.venv/bin/python -m benchmarks.bench_inventory``.
"""

from __future__ import annotations

import time

import pytest
from v2s_vmware.inventory import inventory
from v2s_vmware.session import Session
from v2s_vmware.settings import resolve

from tests.lab.vcsim import Vcsim

pytestmark = [pytest.mark.bench, pytest.mark.lab]

SIZES = (500, 1000)  # VMs; the VPX model has 2 resource pools (cluster + standalone host)


def _lazy_names(s: Session, limit: int) -> float:
    """Baseline: the same facts read lazily, property by property (5 round trips per VM)."""
    content = s.content
    view = content.viewManager.CreateContainerView(content.rootFolder, [], True)
    start = time.perf_counter()
    vms = [o for o in view.view if o._wsdlName == "VirtualMachine"][:limit]
    for vm in vms:
        _ = (vm.name, vm.config, vm.runtime, vm.guest, vm.datastore)
    view.DestroyView()
    return (time.perf_counter() - start) / max(1, len(vms))


def measure(n: int) -> dict[str, float]:
    with Vcsim(vms_per_pool=n // 2, autostart=False) as vc:
        s = Session(resolve(vc.settings(), {}))
        _ = s.content  # connect + login outside the measurement
        before = s.soap_calls
        start = time.perf_counter()
        vms = inventory(s)
        elapsed = time.perf_counter() - start
        calls = s.soap_calls - before
        per_vm_lazy = _lazy_names(s, 100)
        s.close()
    return {"vms": len(vms), "seconds": elapsed, "calls": calls,
            "lazy_seconds_estimate": per_vm_lazy * len(vms)}


def test_inventory_calls_do_not_grow_with_vm_count() -> None:
    rows = [measure(n) for n in SIZES]
    for r in rows:
        print(f"inventory of {r['vms']:5.0f} VMs: {r['seconds']:.2f} s, {r['calls']:.0f} SOAP calls"
              f" (lazy per-VM reads: ~{r['lazy_seconds_estimate']:.1f} s, "
              f"{r['lazy_seconds_estimate'] / r['seconds']:.1f}x slower)")
    small, large = rows
    print(f"ratio 1000/500: time {large['seconds'] / small['seconds']:.2f}x, "
          f"calls {large['calls'] / small['calls']:.2f}x")
    assert small["vms"] >= 500 and large["vms"] >= 1000
    assert small["calls"] == large["calls"] == 3


if __name__ == "__main__":
    test_inventory_calls_do_not_grow_with_vm_count()
