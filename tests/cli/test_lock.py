"""Two `v2s apply` on one state: one runs, the other exits 3 naming the holder; Ctrl-C saves."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path
from typing import IO, Any

from tests.cli.helpers import live, project_config, run, run_process, v2s_cmd, write_config
from vmware2scw.state.backend import from_config
from vmware2scw.state.lock import LockInfo
from vmware2scw.state.model import State

SLOW = "migration.m00.scw_server"


def _wait_for(stream: IO[str], needle: str) -> list[str]:
    """Read lines until one contains ``needle`` (the test's timeout bounds the wait)."""
    seen: list[str] = []
    for line in stream:
        seen.append(line)
        if needle in line:
            return seen
    raise AssertionError(f"{needle!r} never printed; output was:\n{''.join(seen)}")


def _contend(directory: Path, env: dict[str, str] | None = None) -> None:
    env = {**os.environ, **(env or {})}
    first = subprocess.Popen(v2s_cmd("apply", "-auto-approve", "--parallelism", "2"),
                             cwd=directory, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             stdin=subprocess.DEVNULL, text=True, env=env)
    try:
        assert first.stdout is not None
        _wait_for(first.stdout, f"{SLOW}: apply start")  # first is walking: it holds the lock
        second = run_process(directory, "apply", "-auto-approve", env=env)
        assert second.code == 3, second.text
        assert f"pid {first.pid}" in second.err  # names the holder
        assert "operation 'apply'" in second.err and "force-unlock" in second.err
        # Ctrl-C twice: stop scheduling, then cancel the slow resource; state is saved
        first.send_signal(signal.SIGINT)
        _wait_for(first.stdout, "interrupt:")
        first.send_signal(signal.SIGINT)
        rest = first.communicate(timeout=60)
        assert first.returncode == 130, rest
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()


def _finish(directory: Path, env: dict[str, str] | None = None) -> None:
    cfg = project_config()
    write_config(directory, cfg)  # the slow knob gone
    again = run_process(directory, "apply", "-auto-approve", env=env)
    assert again.code == 0, again.text  # the lock was released
    plan = run_process(directory, "plan", "--detailed-exitcode", env=env)
    assert plan.code == 0, plan.text
    assert live(directory)[SLOW] == 1


def test_local_state_second_apply_is_refused_naming_the_holder(tmp_path: Path) -> None:
    write_config(tmp_path, project_config(knobs={"slow": {SLOW: 60}}))
    _contend(tmp_path)
    state = State.model_validate(json.loads((tmp_path / "v2s.tfstate.json").read_text()))
    assert state.resources["migration.m01.scw_server"].status == "created"  # finished kept
    _finish(tmp_path)


def test_s3_state_second_apply_is_refused_naming_the_holder(
        tmp_path: Path, s3_server: Any, s3_bucket: str) -> None:
    backend = {"s3": {"bucket": s3_bucket, "key": "prod/v2s.json",
                      "endpoint": s3_server.endpoint_url, "region": s3_server.region}}
    cfg = project_config(knobs={"slow": {SLOW: 60}}, backend=backend)
    write_config(tmp_path, cfg)
    _contend(tmp_path, s3_server.env)
    cfg = project_config(backend=backend)
    write_config(tmp_path, cfg)
    again = run_process(tmp_path, "apply", "-auto-approve", env=s3_server.env)
    assert again.code == 0, again.text
    assert run_process(tmp_path, "plan", "--detailed-exitcode", env=s3_server.env).code == 0


def test_single_sigint_waits_for_running_work(tmp_path: Path) -> None:
    write_config(tmp_path, project_config(knobs={"slow": {SLOW: 1.0}}))
    proc = subprocess.Popen(v2s_cmd("apply", "-auto-approve"), cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            stdin=subprocess.DEVNULL, text=True)
    assert proc.stdout is not None
    _wait_for(proc.stdout, f"{SLOW}: apply start")
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, out + err
    assert f"{SLOW}: apply done" in out  # the running resource finished
    state = json.loads((tmp_path / "v2s.tfstate.json").read_text())
    assert state["resources"][SLOW]["status"] == "created"


def test_two_applies_started_together_exactly_one_runs(tmp_path: Path) -> None:
    write_config(tmp_path, project_config(knobs={"slow": {SLOW: 3.0}}))
    procs = [subprocess.Popen(v2s_cmd("apply", "-auto-approve"), cwd=tmp_path,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              stdin=subprocess.DEVNULL, text=True) for _ in range(2)]
    results = [(p, *p.communicate(timeout=120)) for p in procs]
    codes = sorted(p.returncode for p, _, _ in results)
    assert codes == [0, 3], [(p.returncode, err) for p, _, err in results]
    winner = next(p for p, _, _ in results if p.returncode == 0)
    loser_err = next(err for p, _, err in results if p.returncode == 3)
    assert f"pid {winner.pid}" in loser_err
    assert live(tmp_path)[SLOW] == 1


def test_force_unlock_asks_unless_force(tmp_path: Path, capsys: Any) -> None:
    write_config(tmp_path, project_config())
    backend = from_config({"local": {"path": str(tmp_path / "v2s.tfstate.json")}}, tmp_path)
    info = LockInfo.new("apply")
    backend.lock(info)  # held by a live process (this one), as by a run still going
    r = run(capsys, tmp_path, "force-unlock", info.id)
    assert r.code == 1 and "-force" in r.err  # nobody can answer the question: refused
    assert backend.current_lock() == info
    r = run(capsys, tmp_path, "force-unlock", "-force", "not-the-id")
    assert r.code == 3 and info.id in r.err  # a LockError naming the right ID
    assert backend.current_lock() == info
    r = run(capsys, tmp_path, "force-unlock", "-force", info.id)
    assert r.code == 0, r.text
    assert f"Lock {info.id} removed (held by {info.who}" in r.out
    assert backend.current_lock() is None
