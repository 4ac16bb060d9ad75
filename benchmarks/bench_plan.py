"""Benchmark: plan 1,000 migrations (>= 7,000 resources) with the test provider.

Prints wall time and peak traced memory of config expansion, a first plan (everything
to create), writing + reading its plan file, and a steady-state plan (everything
applied: no-ops and tombstones), each
as a ratio against a 100-migration baseline measured in the same process.
Target (issue 2): plan under 3 s and 300 MiB.

    .venv/bin/python benchmarks/bench_plan.py [N]      or      make bench
"""

from __future__ import annotations

import gc
import resource
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.golden.runner import LINEAGE, CaseProvider
from tests.plan.chain import simulate_apply
from vmware2scw.config import expand, loads
from vmware2scw.desired import Desired
from vmware2scw.plan import Plan, PlanOptions
from vmware2scw.plan.planner import make_plan
from vmware2scw.provider import ConfigureRequest, InventoryRequest
from vmware2scw.refresh import refresh
from vmware2scw.state.model import State

BASELINE = 100
FULL = 1000
TARGET_SECONDS = 3.0
TARGET_MIB = 300.0
MiB = 2**20


def config_text(n: int) -> str:
    """A config with ``n`` migrations; every fourth VM has two disks."""
    vms = []
    migs = []
    for i in range(n):
        disks = "{key: 2000, capacity_bytes: 21474836480}"
        if i % 4 == 0:
            disks += ", {key: 2001, capacity_bytes: 10737418240}"
        vms.append(f"      - {{name: vm-{i:05d}, change_version: '{i}', disks: [{disks}]}}")
        migs.append(f"  m{i:05d}:\n    source: {{vm: vm-{i:05d}}}\n"
                    f"    target: {{type: PRO2-S, tags: [bench]}}\n    priority: {i % 3}")
    return "\n".join([
        "v2s: 1", "providers:", "  vmware:", "    source: test", "    vms:", *vms,
        "  qemu: {source: test}", "  scaleway: {source: test}", "migrations:", *migs, "",
    ])


def providers_for(text: str) -> dict[str, CaseProvider]:
    loaded = loads(text, "bench.yaml")
    out = {}
    for name in ("vmware", "qemu", "scaleway"):
        p = CaseProvider(frozenset(), {})
        settings = {k: v for k, v in (loaded.config.providers.get(name) or {}).items()
                    if k != "source"}
        p.configure(ConfigureRequest(settings=settings, lineage=LINEAGE, work_dir=Path()))
        out[name] = p
    return out


def expand_config(text: str, provs: dict[str, CaseProvider]) -> Desired:
    loaded = loads(text, "bench.yaml")
    desired, _ = expand(loaded, lineage=LINEAGE, inventory=lambda name, pats: provs[
        name].inventory(InventoryRequest(patterns=pats)))
    return desired


def plan_steady(desired: Desired, state: State, provs: dict[str, CaseProvider]) -> Plan:
    refreshed, _ = refresh(state, provs)
    return make_plan(desired, refreshed, provs, PlanOptions(), recorded=state)


def measure(fn: Callable[[], Any]) -> tuple[float, float, Any]:
    """Best of three untraced runs in seconds, and peak traced MiB of a fourth run."""
    seconds = float("inf")
    for _ in range(3):
        gc.collect()
        start = time.perf_counter()
        result = fn()
        seconds = min(seconds, time.perf_counter() - start)
        del result
    gc.collect()
    tracemalloc.start()
    result = fn()
    peak = tracemalloc.get_traced_memory()[1] / MiB
    tracemalloc.stop()
    return seconds, peak, result


def run(n: int) -> dict[str, tuple[float, float]]:
    """Measure the three phases for ``n`` migrations; returns {phase: (seconds, MiB)}."""
    text = config_text(n)
    provs = providers_for(text)
    out: dict[str, tuple[float, float]] = {}
    t, m, desired = measure(lambda: expand_config(text, provs))
    out["expand"] = (t, m)
    empty = State(lineage=LINEAGE)
    t, m, first = measure(lambda: make_plan(desired, empty, provs))
    out["plan (all create)"] = (t, m)
    assert len(first.changes) == len(desired.resources)
    t, m, _ = measure(lambda: Plan.from_json(first.to_json()))
    out["plan file write + read"] = (t, m)
    applied = simulate_apply(first, empty, desired)
    t, m, steady = measure(lambda: plan_steady(desired, applied, provs))
    out["refresh + plan (no-op)"] = (t, m)
    assert not steady.has_changes, "steady state must plan no changes"
    out["resources"] = (float(len(desired.resources)), 0.0)
    return out


def report(n_full: int = FULL) -> dict[str, float]:
    """Print the table; return the full-size ratios over the baseline."""
    base = run(BASELINE)
    full = run(n_full)
    resources = int(full.pop("resources")[0])
    base.pop("resources")
    print(f"\nplan benchmark: {n_full} migrations = {resources} resources "
          f"(baseline {BASELINE} migrations, same process)")
    print(f"{'phase':<24} {'seconds':>8} {'x base':>7} {'peak MiB':>9} {'x base':>7}")
    ratios = {}
    for phase, (sec, mib) in full.items():
        bsec, bmib = base[phase]
        ratios[phase] = sec / bsec
        print(f"{phase:<24} {sec:8.2f} {sec / bsec:7.1f} {mib:9.1f} {mib / bmib:7.1f}")
    plan_sec = full["plan (all create)"][0] + full["expand"][0]
    plan_mib = max(mib for _, mib in full.values())
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"expand + plan: {plan_sec:.2f} s (target < {TARGET_SECONDS:.0f} s: "
          f"{'ok' if plan_sec < TARGET_SECONDS else 'MISSED'}); peak traced {plan_mib:.0f} MiB, "
          f"process peak RSS {rss:.0f} MiB (target < {TARGET_MIB:.0f} MiB: "
          f"{'ok' if rss < TARGET_MIB else 'MISSED'})")
    ratios["resources"] = resources
    return ratios


@pytest.mark.bench
def test_plan_scales_linearly() -> None:
    ratios = report()
    assert ratios["resources"] >= 7000
    # 10x the migrations must cost about 10x, not 100x (quadratic) the time
    for phase in ("plan (all create)", "refresh + plan (no-op)"):
        assert ratios[phase] < 25, f"{phase} grows faster than linearly: {ratios[phase]:.1f}x"


if __name__ == "__main__":
    report(int(sys.argv[1]) if len(sys.argv) > 1 else FULL)
