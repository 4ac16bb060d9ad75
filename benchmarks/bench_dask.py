"""Benchmark: one wave on the thread executor, on 1 Dask migration host and on 4.

16 migrations of the test provider, whose data-path resources (export, conversion,
upload) wait a fixed time each (I/O-bound, so 2 cores do not cap it). Every host has
the same capacity (attach_slots=2: two data-path tasks at a time), so the 4-host/1-host
ratio measures scale-out, not thread counts. The thread executor runs the same wave in
this process, unbounded by hosts (for reference). State writes are counted: the
coordinator's StateManager writes, and every worker process's (which must be 0).

    .venv/bin/python benchmarks/bench_dask.py [MIGRATIONS] [SECONDS]    or    make bench
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from v2s_test.provider import TestProvider

from tests.lab.dask_lab import DaskLab, make_certs
from tests.walker.helpers import LINEAGE, chain, plan_of
from vmware2scw.cluster.executor import DaskExecutor
from vmware2scw.desired import ProviderBlock
from vmware2scw.provider import ConfigureRequest
from vmware2scw.state.local import LocalBackend
from vmware2scw.state.manager import StateManager, writes_in_process
from vmware2scw.state.model import State
from vmware2scw.walker import Executor, LocalExecutor, WalkOptions, walk

DATA_PATH = ("disk_export", "qcow2_artifact", "s3_object")
REMOTE_KINDS = ("export", "convert", "upload")
SLOTS = 2


def _settings(seconds: float) -> dict[str, Any]:
    """Timed data-path resources for the wave (``m…``); the warm-up (``w…``) is instant."""
    return {"slow": {f"migration.m*.{t}*": seconds for t in DATA_PATH}, "progress_steps": 3}


def _wave(n: int, prefix: str = "m") -> list[Any]:
    return [c.model_copy(update={"migration": f"{prefix}{i:03d}"})
            for i in range(n) for c in chain(f"{prefix}{i:03d}")]


def _walk(n: int, seconds: float, executor: Executor, work: Path,
          prefix: str = "m") -> tuple[float, int]:
    prov = TestProvider()
    prov.configure(ConfigureRequest(settings=_settings(seconds), lineage=LINEAGE, work_dir=work))
    sm = StateManager(LocalBackend(work / "state.json"), state=State(lineage=LINEAGE))
    start = time.perf_counter()
    result = walk(plan_of(_wave(n, prefix)), sm, {"test": prov},
                  WalkOptions(parallelism=4 * n, work_dir=work / "w", handle_sigint=False,
                              executor=executor))
    elapsed = time.perf_counter() - start
    assert result.ok, result.diagnostics
    return elapsed, sm.writes


def _dask(lab: DaskLab, n: int, seconds: float) -> DaskExecutor:
    assert lab.client is not None
    from vmware2scw.cluster.connect import security

    client_sec = security(ca_file=lab.certs.ca, cert=lab.certs.cert, key=lab.certs.key,
                          role="client")
    from distributed import Client

    client = Client(lab.address, security=client_sec, set_as_default=False)
    block = ProviderBlock(local_name="test", source="test", settings=_settings(seconds))
    return DaskExecutor(client, lineage=LINEAGE, blocks={"test": block},
                        zones={}, remote_kinds=REMOTE_KINDS)


def _timed(lab: DaskLab, n: int, seconds: float, hosts: int, work: Path) -> tuple[float, int]:
    """Warm every host up (imports, TLS, provider set-up: once per host), then time."""
    executor = _dask(lab, n, seconds)
    try:
        _walk(hosts, 0.0, executor, work / "warm", prefix="w")
        return _walk(n, seconds, executor, work)
    finally:
        executor.close()


def run(n: int = 16, seconds: float = 1.5) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        threads, _ = _walk(n, seconds, LocalExecutor(), root / "threads")
        lab = DaskLab(root, make_certs(root / "certs")).start()
        try:
            lab.add_worker("host-1", "fr-par-1", attach_slots=SLOTS, convert=SLOTS)
            lab.wait_workers(1)
            one, w1 = _timed(lab, n, seconds, 1, root / "one")
            for i in range(2, 5):
                lab.add_worker(f"host-{i}", "fr-par-1", attach_slots=SLOTS, convert=SLOTS)
            lab.wait_workers(4)
            four, w4 = _timed(lab, n, seconds, 4, root / "four")
            assert lab.client is not None
            by_workers = sum(lab.client.run(writes_in_process).values())
        finally:
            lab.stop()
    print(f"wave of {n} migrations, {len(DATA_PATH)} data-path resources of {seconds:g} s "
          f"each, hosts with attach_slots={SLOTS}")
    print(f"  thread executor (this process): {threads:6.2f} s")
    print(f"  1 Dask host                   : {one:6.2f} s  ({w1} state writes)")
    print(f"  4 Dask hosts                  : {four:6.2f} s  ({w4} state writes)")
    print(f"dask: 1 worker {one:.2f} s, 4 workers {four:.2f} s, speedup {one / four:.2f}, "
          f"state writes {w1 + w4} by coordinator, {by_workers} by workers")
    return {"threads": threads, "one": one, "four": four, "workers": by_workers,
            "coordinator": w1 + w4}


@pytest.mark.bench
def test_bench_dask() -> None:
    numbers = run()
    assert numbers["one"] / numbers["four"] >= 3.2
    assert numbers["workers"] == 0 and numbers["coordinator"] > 0


if __name__ == "__main__":
    args = sys.argv[1:]
    run(int(args[0]) if args else 16, float(args[1]) if len(args) > 1 else 1.5)
