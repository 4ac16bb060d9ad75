"""kill -9 `v2s apply` at random points: the state always parses, every rerun converges,
and no cloud object is ever created twice (adoption by tags + resume from state).
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import time
from pathlib import Path

from tests.cli.helpers import creations, live, project_config, run, v2s_cmd, write_config
from vmware2scw.state.model import State

TRIALS = int(os.environ.get("V2S_CRASH_TRIALS", "24"))
KEPT = ("scw_snapshot[0]", "scw_image", "scw_server")


def _config() -> dict:
    cfg = project_config(vms=3, knobs={"delay": 0.04, "progress_steps": 2})
    cfg["providers"]["vmware"]["vms"][2]["disks"].append({"key": 2001, "capacity_bytes": 2**31})
    cfg["settings"] = {"parallelism": 4, "limits": {"export": 2}}
    return cfg


def _expected_live() -> set[str]:
    out = {f"migration.m{i:02d}.{k}" for i in range(3) for k in KEPT}
    out.add("migration.m02.scw_snapshot[1]")
    return out


def _kill_at_random(directory: Path, rng: random.Random) -> str:
    """Start `v2s apply`, SIGKILL it at a random moment; returns how it was killed."""
    proc = subprocess.Popen(v2s_cmd("apply", "-auto-approve"), cwd=directory,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            stdin=subprocess.DEVNULL, text=True)
    assert proc.stdout is not None
    try:
        if rng.random() < 0.3:  # anywhere from start-up on (load, refresh, plan, walk)
            wait = rng.uniform(0.0, 1.5)
            how = f"{wait:.2f}s after start"
        else:  # inside the walk
            for line in proc.stdout:
                if ": apply start" in line:
                    break
            wait = rng.uniform(0.0, 0.8)
            how = f"{wait:.2f}s into the walk"
        time.sleep(wait)  # the random kill point itself, not a synchronisation
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.communicate()
    return how


def _state(directory: Path) -> State | None:
    path = directory / "v2s.tfstate.json"
    if not path.exists():
        return None
    return State.model_validate(json.loads(path.read_text()))  # must always parse


def test_sigkill_at_random_points_always_converges(tmp_path: Path, capsys) -> None:
    seed = int(os.environ.get("V2S_CRASH_SEED", str(random.SystemRandom().randrange(2**32))))
    rng = random.Random(seed)
    report = []
    tainted = 0
    for trial in range(TRIALS):
        directory = tmp_path / f"t{trial:02d}"
        directory.mkdir()
        write_config(directory, _config())
        kills = [_kill_at_random(directory, rng) for _ in range(1 + (trial % 3 == 0))]
        state = _state(directory)
        where = f"seed {seed}, trial {trial}, killed {kills}"
        recorded = len(state.resources) if state else 0
        tainted += bool(state and any(r.status == "tainted" for r in state.resources.values()))
        final = run(capsys, directory, "apply", "-auto-approve")  # in-process: faster
        assert final.code == 0, f"{where}: rerun failed:\n{final.text}"
        _state(directory)
        again = run(capsys, directory, "plan", "--detailed-exitcode")
        assert again.code == 0, f"{where}: rerun did not converge:\n{again.text}"
        twice = {a: n for a, n in creations(directory).items() if n > 1}
        assert twice == {}, f"{where}: created more than once: {twice}"
        assert set(live(directory)) == _expected_live(), where
        assert max(live(directory).values()) == 1, where
        report.append(recorded)
    # the kills landed at different points: from nothing recorded to a lot
    assert len(set(report)) >= 4, (seed, report)
    assert tainted >= 3, (seed, tainted)  # kills inside a provider call were resumed
