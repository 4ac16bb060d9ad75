"""Benchmark: the walker's own cost per resource, with and without a real state backend.

Walks N migrations (7 resources each, transients cleaned up) through the test provider
(in memory, no delay), once with a trivial in-memory state sink and once with the
StateManager on a local state file (atomic write + fsync per group commit). Prints the
time per operation and the ratio of the two: the price of "state saved at every
transition", measured in the same process.

    .venv/bin/python benchmarks/bench_walk.py [N]      or      make bench
"""

from __future__ import annotations

import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from v2s_test.provider import TestProvider

from tests.walker.helpers import LINEAGE, chain, plan_of
from vmware2scw.provider import ConfigureRequest
from vmware2scw.state.local import LocalBackend
from vmware2scw.state.manager import StateManager
from vmware2scw.state.model import State
from vmware2scw.walker import StateSink, WalkOptions, walk


class _Sink:
    """The cheapest possible state sink: keeps the state, writes nothing."""

    def __init__(self) -> None:
        self.state = State(lineage=LINEAGE)
        self._lock = threading.Lock()

    def update(self, change: Callable[[State], State]) -> State:
        with self._lock:
            self.state = change(self.state)
            return self.state


def _walk(n: int, sink: StateSink, work: Path) -> tuple[float, int]:
    changes = [c for i in range(n) for c in chain(f"m{i:04d}")]
    prov = TestProvider()
    prov.configure(ConfigureRequest(settings={}, lineage=LINEAGE, work_dir=work))
    start = time.perf_counter()
    result = walk(plan_of(changes), sink, {"test": prov},
                  WalkOptions(work_dir=work / "w", handle_sigint=False))
    elapsed = time.perf_counter() - start
    assert result.ok, result.diagnostics
    return elapsed, len(result.outcomes)


def run(n: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        mem, ops = _walk(n, _Sink(), base / "a")
        sm = StateManager(LocalBackend(base / "state.json"), state=State(lineage=LINEAGE))
        disk, _ = _walk(n, sm, base / "b")
    print(f"walk of {n} migrations ({ops} operations)")
    print(f"  in-memory sink : {mem:6.2f} s  {1000 * mem / ops:5.2f} ms/operation")
    print(f"  local state    : {disk:6.2f} s  {1000 * disk / ops:5.2f} ms/operation "
          f"({sm.writes} writes)")
    print(f"  ratio local/in-memory: {disk / mem:.1f}x")
    return {"memory": mem, "local": disk, "ops": ops}


@pytest.mark.bench
def test_bench_walk() -> None:
    numbers = run(100)
    assert numbers["ops"] == 100 * 11  # 7 applies + 4 cleanups per migration


if __name__ == "__main__":
    run(int(sys.argv[1]) if len(sys.argv) > 1 else 100)
