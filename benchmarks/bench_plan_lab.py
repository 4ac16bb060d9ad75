"""Benchmark: `v2s plan` of 100, 500 and 1,000 vcsim VMs against the Scaleway simulator.

Each size: vcsim started with that many VMs, one migration per VM, then `v2s plan` run
three times as a fresh process (the best wall time counts: the machine is shared). Prints
wall time (process start to exit, interpreter and imports included), the process's CPU
time (what the machine's load does not inflate), time inside the CLI,
peak RSS, the SOAP calls (vCenter) and Scaleway API calls of one run, the plan's lines,
and ratios against the 100-VM baseline measured in the same run.
Target (issue 10): 1,000 VMs under 2 s; call counts flat in N.

    .venv/bin/python -m benchmarks.bench_plan_lab [N ...] [--profile FILE]
    .venv/bin/pytest -q -s -m bench benchmarks/bench_plan_lab.py
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import tests.lab.vcsim  # noqa: E402
from tests.lab.scwsim import Simulator  # noqa: E402
from tests.lab.vcsim import Vcsim  # noqa: E402

pytestmark = [pytest.mark.bench, pytest.mark.lab]

SIZES = (100, 500, 1000)
RUNS = 3
TARGET_SECONDS = 2.0
PASSWORD_ENV = "V2S_BENCH_VSPHERE_PASSWORD"

# The child: count SOAP round trips, run the CLI in-process, report as one JSON line.
CHILD = """
import json, resource, sys, time
t0 = time.perf_counter()
import v2s_vmware.session as vs
stubs = []  # every SOAP stub made; each counts its round trips in ``calls``
init = vs._CountingStub.__init__
def registered(self, *a, **k):
    stubs.append(self)
    init(self, *a, **k)
vs._CountingStub.__init__ = registered
from vmware2scw.cli import main
out = open(sys.argv[1], "w")
real, sys.stdout = sys.stdout, out
start = time.perf_counter()
code = main(sys.argv[2:])
cli = time.perf_counter() - start
sys.stdout = real
out.close()
use = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"code": code, "soap": sum(st.calls for st in stubs), "cli_s": cli,
                  "imports_s": start - t0, "rss_mib": use.ru_maxrss / 1024,
                  "cpu_s": use.ru_utime + use.ru_stime}))
"""


def linux_vms(vc: Vcsim) -> list[str]:
    """vcsim's VMs made Debian guests (its default 'otherGuest' cannot be converted);
    returns their names."""
    from concurrent.futures import ThreadPoolExecutor

    from v2s_vmware._vmomi import vim
    from v2s_vmware.inventory import inventory
    from v2s_vmware.session import Session
    from v2s_vmware.settings import resolve

    s = Session(resolve(vc.settings(), {}))
    try:
        vms = inventory(s)
        spec = vim.vm.ConfigSpec(guestId="debian12_64Guest")

        def reconfigure(moref: str) -> None:
            s.call(lambda _c: vim.VirtualMachine(moref, s.stub).ReconfigVM_Task(spec=spec))

        with ThreadPoolExecutor(8) as pool:
            list(pool.map(reconfigure, [vm.moref for vm in vms]))
        deadline = time.monotonic() + 60
        while any(vm.guest_family != "linux" for vm in vms) and time.monotonic() < deadline:
            time.sleep(0.2)
            vms = inventory(s)
        return sorted(vm.name for vm in vms)
    finally:
        s.close()


def config(vc: Vcsim, names: list[str]) -> dict[str, Any]:
    """One migration per VM; the password comes from the environment, as in production."""
    return {
        "v2s": 1,
        "providers": {
            "vmware": {**vc.settings(), "password": f"${{env.{PASSWORD_ENV}}}"},
            "qemu": {},
            "scaleway": {"zone": "fr-par-1", "transit_bucket": "v2s-bench-transit"},
        },
        "defaults": {"target": {"type": "PRO2-S", "drop_unmapped_nics": True,
                                "tags": ["bench"]}},
        "migrations": {n.lower().replace("_", "-"): {"source": {"vm": n}} for n in names},
    }


@contextmanager
def lab(n: int) -> Iterator[tuple[Vcsim, Simulator, Path, dict[str, str]]]:
    """vcsim with ``n`` VMs (two resource pools), the simulator, a project directory."""
    tests.lab.vcsim.START_TIMEOUT = 120.0  # 1,000 VMs on a busy machine take a while
    with Vcsim(vms_per_pool=n // 2, autostart=False) as vc, Simulator() as sim, \
            tempfile.TemporaryDirectory(prefix="v2s-bench-plan-") as tmp:
        names = linux_vms(vc)
        assert len(names) == n, f"vcsim made {len(names)} VMs, wanted {n}"
        project = Path(tmp)
        (project / "v2s.yaml").write_text(yaml.safe_dump(config(vc, names), sort_keys=False))
        env = {**os.environ, **sim.env, PASSWORD_ENV: vc.password,
               "SCW_CONFIG_PATH": str(project / "no-scw-config.yaml"), "V2S_NONINTERACTIVE": "1"}
        yield vc, sim, project, env


def plan_once(sim: Simulator, project: Path, env: dict[str, str],
              profile: Path | None = None) -> dict[str, float]:
    """One `v2s plan` as a fresh process; wall time measured from outside."""
    before = len(sim.log)
    out = project / "plan.txt"
    prefix = ["-m", "cProfile", "-o", str(profile)] if profile else []
    cmd = [sys.executable, *prefix, "-c", CHILD, str(out), "-no-color", "plan"]
    if profile:  # cProfile runs a file, not -c
        script = project / "child.py"
        script.write_text(CHILD)
        cmd = [sys.executable, *prefix, str(script), str(out), "-no-color", "plan"]
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=project, env=env, capture_output=True, text=True,
                          timeout=300, check=False)
    wall = time.perf_counter() - start
    if proc.returncode != 0 or not proc.stdout.strip():
        raise RuntimeError(f"v2s plan failed ({proc.returncode}): {proc.stderr[-3000:]}")
    facts = json.loads(proc.stdout.strip().splitlines()[-1])
    if facts["code"] != 0:
        raise RuntimeError(f"v2s plan exited {facts['code']}: {proc.stderr[-3000:]}")
    return {"wall_s": wall, "cpu_s": facts["cpu_s"], "cli_s": facts["cli_s"],
            "imports_s": facts["imports_s"],
            "rss_mib": facts["rss_mib"], "soap": facts["soap"],
            "scaleway": len(sim.log) - before,
            "lines": len(out.read_text().splitlines())}


def measure(n: int, runs: int = RUNS) -> dict[str, float]:
    """Best of ``runs`` wall times for ``n`` VMs (other columns from that best run)."""
    with lab(n) as (_, sim, project, env):
        results = [plan_once(sim, project, env) for _ in range(runs)]
    best = min(results, key=lambda r: r["wall_s"])
    return {"vms": n, **best}


def report(sizes: tuple[int, ...] = SIZES) -> list[dict[str, float]]:
    rows = [measure(n) for n in sizes]
    base = rows[0]
    print(f"\n`v2s plan` against vcsim + the Scaleway simulator (best of {RUNS} runs each; "
          f"ratios against {base['vms']:.0f} VMs)")
    print(f"{'VMs':>5} {'wall s':>7} {'x base':>6} {'CPU s':>6} {'in CLI s':>8} "
          f"{'imports s':>9} {'RSS MiB':>7} {'SOAP':>4} {'Scaleway':>8} {'plan lines':>10}")
    for r in rows:
        print(f"{r['vms']:5.0f} {r['wall_s']:7.2f} {r['wall_s'] / base['wall_s']:6.1f} "
              f"{r['cpu_s']:6.2f} {r['cli_s']:8.2f} {r['imports_s']:9.2f} {r['rss_mib']:7.0f} "
              f"{r['soap']:4.0f} {r['scaleway']:8.0f} {r['lines']:10.0f}")
    last = rows[-1]
    load = os.getloadavg()[0]
    verdict = "ok" if last["wall_s"] < TARGET_SECONDS else "MISSED"
    print(f"{last['vms']:.0f} VMs: {last['wall_s']:.2f} s wall, {last['cpu_s']:.2f} s CPU "
          f"(target < {TARGET_SECONDS:.0f} s: {verdict}; load average {load:.1f} on "
          f"{os.cpu_count()} cores)")
    return rows


def test_plan_of_a_thousand_lab_vms() -> None:
    rows = report()
    assert len({r["soap"] for r in rows}) == 1, "SOAP calls must not grow with the VM count"
    assert len({r["scaleway"] for r in rows}) == 1, "Scaleway calls must not grow either"
    # 10x the VMs must cost far less than 10x the time (start-up and round trips are flat)
    assert rows[-1]["wall_s"] / rows[0]["wall_s"] < 10


def main(argv: list[str]) -> None:
    profile = None
    if "--profile" in argv:
        i = argv.index("--profile")
        profile = Path(argv[i + 1]).resolve()
        argv = argv[:i] + argv[i + 2:]
    sizes = tuple(int(a) for a in argv) or SIZES
    if profile is None:
        report(sizes)
        return
    with lab(sizes[-1]) as (_, sim, project, env):
        print(plan_once(sim, project, env, profile))
    print(f"profile written to {profile} (python -m pstats {profile})")


if __name__ == "__main__":
    main(sys.argv[1:])
