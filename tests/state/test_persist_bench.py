"""Persist cost on a 7,000-resource state (the walker persists at every transition).

The bench prints ratios against a baseline measured in the same process: one
``State.model_dump_json`` plus a plain file write (no fsync, no rename).
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.lab.s3 import MotoS3Server
from tests.state.conftest import s3_block
from vmware2scw.state.backend import from_config
from vmware2scw.state.local import LocalBackend
from vmware2scw.state.manager import StateManager
from vmware2scw.state.model import ResourceState, State, Status

N_RESOURCES = 7_000


def big_state() -> State:
    records = {}
    for i in range(N_RESOURCES):
        address = f"migration.vm-{i:04d}.disk_export[0]"
        records[address] = ResourceState(
            address=address,
            type="disk_export",
            provider="vmware",
            attributes={
                "vm": f"vm-{i:04d}",
                "path": f"/var/lib/v2s/work/vm-{i:04d}/disk-0.vmdk",
                "size_bytes": 53_687_091_200,
                "sha256": "ab" * 32,
                "tags": ["v2s-lineage=x", f"v2s-address={address}"],
            },
            dependencies=(f"migration.vm-{i:04d}.vmware_snapshot",),
            migration=f"vm-{i:04d}",
        )
    return State(resources=records)


def one_change(manager: StateManager, i: int) -> None:
    rs = manager.state.resources[f"migration.vm-{i:04d}.disk_export[0]"]
    manager.put(rs.model_copy(update={"status": Status.TAINTED, "checkpoint": {"bytes": i}}))


def timed(fn: object, repeat: int) -> float:
    start = time.perf_counter()
    for i in range(repeat):
        fn(i)  # type: ignore[operator]
    return (time.perf_counter() - start) / repeat


def test_persist_of_one_change_stays_fast(tmp_path: Path) -> None:
    manager = StateManager(LocalBackend(tmp_path / "v2s.state.json"), state=big_state())
    manager.persist()
    per_change = timed(lambda i: one_change(manager, i), 10)
    assert per_change < 1.0, f"{per_change:.3f} s per persist of a {N_RESOURCES}-resource state"


@pytest.mark.bench
def test_bench_persist_7000(tmp_path: Path, s3_server: MotoS3Server, s3_bucket: str) -> None:
    state = big_state()
    plain = tmp_path / "plain.json"
    baseline = timed(lambda i: plain.write_text(state.model_dump_json()), 5)
    manager = StateManager(LocalBackend(tmp_path / "v2s.state.json"), state=state)
    first = timed(lambda i: manager.persist(), 1)
    local = timed(lambda i: one_change(manager, i), 30)
    size = (tmp_path / "v2s.state.json").stat().st_size
    s3 = from_config(s3_block(s3_server, s3_bucket, "bench.json"), tmp_path)
    s3_manager = StateManager(s3, state=state)
    s3_manager.persist()
    remote = timed(lambda i: one_change(s3_manager, i), 5)
    print(
        f"\npersist, {N_RESOURCES} resources, {size / 2**20:.1f} MiB:"
        f"\n  baseline (model_dump_json + plain write): {baseline * 1000:7.1f} ms"
        f"\n  first persist (encode all, fsync, rename): {first * 1000:7.1f} ms"
        f"  ({first / baseline:.2f}x baseline)"
        f"\n  persist after one change (local):          {local * 1000:7.1f} ms"
        f"  ({local / baseline:.2f}x baseline)"
        f"\n  persist after one change (S3, moto):       {remote * 1000:7.1f} ms"
        f"  ({remote / baseline:.2f}x baseline)"
    )
