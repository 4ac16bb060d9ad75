"""Two real processes race for one state's lock: exactly one runs, the other names the holder."""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from vmware2scw.errors import LockError
from vmware2scw.state.backend import from_config
from vmware2scw.state.lock import LockInfo

ROOT = Path(__file__).resolve().parents[2]
DEADLINE = 60.0  # seconds for the whole race on a loaded 2-core machine


def spawn(block: dict[str, Any], operation: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "AWS_EC2_METADATA_DISABLED": "true"}
    return subprocess.Popen(
        [sys.executable, "-m", "tests.state.lock_race", json.dumps(block), operation],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env=env,
    )


def read_lines(procs: list[subprocess.Popen[str]], want: int) -> dict[int, list[str]]:
    """Read stdout lines until ``want`` lines or EOFs in total arrived; EOF reads as ''."""
    lines: dict[int, list[str]] = {p.pid: [] for p in procs}
    sel = selectors.DefaultSelector()
    for p in procs:
        assert p.stdout is not None
        sel.register(p.stdout, selectors.EVENT_READ, p)
    got, end = 0, time.monotonic() + DEADLINE
    while got < want:
        events = sel.select(timeout=max(0.0, end - time.monotonic()))
        assert events, f"no progress within {DEADLINE} s: {lines}"
        for key, _ in events:
            proc: subprocess.Popen[str] = key.data
            line = proc.stdout.readline()  # type: ignore[union-attr]
            lines[proc.pid].append(line.strip())
            got += 1
            if not line:
                sel.unregister(key.fileobj)
    sel.close()
    return lines


def reap(procs: list[subprocess.Popen[str]]) -> None:
    """Kill what still runs and close every pipe."""
    for p in procs:
        if p.poll() is None:
            p.kill()
        p.wait()
        for stream in (p.stdin, p.stdout, p.stderr):
            if stream and not stream.closed:
                stream.close()


def start_pair(block: dict[str, Any]) -> list[subprocess.Popen[str]]:
    procs = [spawn(block, "apply"), spawn(block, "apply")]
    ready = read_lines(procs, 2)
    assert all(v == ["ready"] for v in ready.values()), ready
    for p in procs:  # both are waiting: release them together
        assert p.stdin is not None
        p.stdin.write("go\n")
        p.stdin.flush()
    return procs


def test_two_processes_exactly_one_runs_the_other_names_the_holder(
    backend_config: dict[str, Any], tmp_path: Path
) -> None:
    procs = start_pair(backend_config)
    try:
        outcome = read_lines(procs, 2)  # one "locked <id>", one EOF from the loser's exit
        winners = [p for p in procs if outcome[p.pid][0].startswith("locked ")]
        losers = [p for p in procs if outcome[p.pid][0] == ""]
        assert len(winners) == 1 and len(losers) == 1, outcome
        winner, loser = winners[0], losers[0]
        lock_id = outcome[winner.pid][0].split()[1]
        assert loser.wait(timeout=DEADLINE) != 0
        refusal = loser.stderr.read()  # type: ignore[union-attr]
        assert f"pid {winner.pid}" in refusal
        assert "'apply'" in refusal
        assert f"v2s force-unlock {lock_id}" in refusal
        assert "Traceback" not in refusal
        assert from_config(backend_config, tmp_path).current_lock().id == lock_id  # type: ignore[union-attr]
        winner.stdin.close()  # type: ignore[union-attr]
        assert winner.wait(timeout=DEADLINE) == 0
        assert from_config(backend_config, tmp_path).current_lock() is None
    finally:
        reap(procs)


def test_a_killed_holder(backend_config: dict[str, Any], tmp_path: Path) -> None:
    """Local: the kernel drops a dead run's lock. S3: the lock stays until force-unlock."""
    proc = spawn(backend_config, "apply")
    try:
        assert read_lines([proc], 1)[proc.pid] == ["ready"]
        proc.stdin.write("go\n")  # type: ignore[union-attr]
        proc.stdin.flush()  # type: ignore[union-attr]
        lock_id = read_lines([proc], 1)[proc.pid][0].split()[1]
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=DEADLINE)
    finally:
        reap([proc])
    backend = from_config(backend_config, tmp_path)
    mine = LockInfo.new("apply")
    if "local" in backend_config:
        assert backend.current_lock() is None
        backend.lock(mine)
    else:
        with pytest.raises(LockError, match=f"pid {proc.pid}"):
            backend.lock(mine)
        backend.force_unlock(lock_id)
        backend.lock(mine)
    backend.unlock(mine.id)
