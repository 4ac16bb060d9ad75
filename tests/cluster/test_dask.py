"""`executor: dask` on a TLS LocalCluster scheduler with `v2s worker` processes.

One cluster per module: two migration hosts in fr-par-1, each a server of the Scaleway
simulator whose metadata service tells its `v2s worker` who and where it is; the
lost-host test adds two hosts of its own in another zone.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dask
import pytest

from tests.cli.helpers import creations, project_config, run, store, v2s_cmd, write_config
from tests.lab.dask_lab import DaskLab, make_certs
from tests.lab.scwsim import Simulator
from vmware2scw.cluster.executor import check_hosts
from vmware2scw.cluster.host import HostFacts, describe
from vmware2scw.errors import ConfigError
from vmware2scw.state.manager import writes_in_process

DATA_PATH = ("disk_export", "qcow2_artifact", "s3_object")


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DaskLab]:
    root = tmp_path_factory.mktemp("dask")
    with Simulator() as sim:
        yield from _lab(root, sim)


def _lab(root: Path, sim: Simulator) -> Iterator[DaskLab]:
    lab = DaskLab(root, make_certs(root / "certs"), sim=sim).start()
    try:
        lab.add_worker("host-a", "fr-par-1")
        lab.add_worker("host-b", "fr-par-1")
        lab.wait_workers(2)
        yield lab
    finally:
        lab.stop()


def _project(lab: DaskLab, directory: Path, *, vms: int, knobs: dict[str, Any],
             executor: dict[str, Any] | None = None, zone: str = "fr-par-1") -> None:
    cfg = project_config(str(directory / "cloud.json"), vms=vms, knobs=knobs, extra={
        "settings": {"parallelism": 16,
                     "executor": executor or lab.certs.executor(lab.address, directory)},
        "defaults": {"target": {"zone": zone}}})
    write_config(directory, cfg)


def _slow(seconds: float) -> dict[str, float]:
    return {f"*.{t}*": seconds for t in DATA_PATH}


def _state(directory: Path) -> dict[str, Any]:
    path = directory / "v2s.tfstate.json"
    return json.loads(path.read_text()) if path.exists() else {"resources": {}}


def test_wave_runs_pinned_on_hosts_and_only_the_coordinator_writes_state(
        lab: DaskLab, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _project(lab, tmp_path, vms=4, knobs={
        "slow": _slow(0.3), "progress_steps": 2,
        "transient_failures": {"migration.m01.qcow2_artifact[0]": 1}})
    res = run(capsys, tmp_path, "apply", "-auto-approve")
    assert res.code == 0, res.text
    assert "injected transient failure 1" in res.out  # raised on a host, retried by the walker
    assert "disk_export[0]" in res.out and "128.0 MiB" in res.out  # worker progress relayed
    pids = {name: lab.pid_of(name) for name in ("host-a", "host-b")}
    ran: dict[str, set[int]] = {}
    for call in store(tmp_path)["calls"]:
        if call["op"] == "apply":
            ran.setdefault(call["address"], set()).add(call["pid"])
    for address, where in ran.items():
        remote = any(f".{t}[" in address for t in DATA_PATH)
        assert where <= (set(pids.values()) if remote else {os.getpid()}), address
    hosts_of = {m: {p for a, w in ran.items() if a.startswith(f"migration.{m}.")
                    and any(f".{t}[" in a for t in DATA_PATH) for p in w}
                for m in ("m00", "m01", "m02", "m03")}
    assert all(len(h) == 1 for h in hosts_of.values()), hosts_of  # one host per migration
    assert set().union(*hosts_of.values()) == set(pids.values())  # both hosts used
    assert lab.client is not None
    assert set(lab.client.run(writes_in_process).values()) == {0}  # no state write on a host
    settings = lab.client.run_on_scheduler(lambda: (
        dask.config.get("distributed.scheduler.allowed-failures"),
        dask.config.get("distributed.scheduler.worker-ttl")))
    assert tuple(settings) == (0, "10 minutes")  # `v2s scheduler`: for tasks of hours
    declared = {f["name"]: f for f in lab.client.run(describe).values() if f}
    servers = {h.server_id: h.zone for h in lab.sim.hosts.all()}
    assert all(servers.get(declared[n]["server_id"]) == "fr-par-1"
               for n in ("host-a", "host-b"))  # from each simulator host's metadata
    records = _state(tmp_path)["resources"]
    hosts = {a: r["host"] for a, r in records.items()}  # where each one's data is, in state
    for m in ("m00", "m01", "m02", "m03"):
        mine = {h for a, h in hosts.items() if a.startswith(f"migration.{m}.") and h}
        assert len(mine) == 1 and mine <= {"host-a", "host-b"}, hosts
    assert all(h == "" for a, h in hosts.items() if not any(f".{t}[" in a for t in DATA_PATH))
    assert run(capsys, tmp_path, "plan", "-detailed-exitcode").code == 0
    assert set(creations(tmp_path).values()) == {1}


@pytest.mark.parametrize("case", ["unreachable", "tls-mismatch", "no-host-in-zone"])
def test_bad_cluster_is_refused_before_anything_is_created(
        lab: DaskLab, tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str) -> None:
    executor = lab.certs.executor(lab.address, tmp_path)
    zone = "fr-par-1"
    if case == "unreachable":
        executor.update(scheduler="tls://127.0.0.1:9", connect_timeout=1)
        expected = "cannot reach the Dask scheduler tls://127.0.0.1:9"
    elif case == "tls-mismatch":
        executor = make_certs(tmp_path / "other-ca").executor(lab.address, tmp_path)
        expected = "TLS with the Dask scheduler"
    else:
        zone = "pl-ams-1"
        expected = "no migration host in the target zone of: zone pl-ams-1: m00, m01"
    _project(lab, tmp_path, vms=2, knobs={}, executor=executor, zone=zone)
    res = run(capsys, tmp_path, "apply", "-auto-approve")
    assert res.code == 1, res.text
    assert expected in res.err and "hint:" in res.err and "Traceback" not in res.text
    assert not store(tmp_path)["objects"] and not _state(tmp_path)["resources"]


def test_plaintext_scheduler_needs_the_insecure_opt_out(
        lab: DaskLab, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _project(lab, tmp_path, vms=1, knobs={},
             executor={"type": "dask", "scheduler": "tcp://127.0.0.1:8786"})
    res = run(capsys, tmp_path, "validate")
    assert res.code == 1 and "refusing a plaintext tcp:// scheduler" in res.err, res.text


def test_a_host_without_attach_slots_is_refused() -> None:
    hosts = [HostFacts(name="a", zone="fr-par-1", work_dir="/w", address="tls://a:1",
                       resources={"attach_slots": 15, "convert": 2}),
             HostFacts(name="b", zone="fr-par-1", work_dir="/w", address="tls://b:1",
                       resources={"convert": 2})]
    check_hosts(hosts[:1], {"m00": "fr-par-1"}, "tls://s:8786")
    with pytest.raises(ConfigError, match=r"tls://b:1 \(b, zone fr-par-1\) has attach_slots=0"):
        check_hosts(hosts, {"m00": "fr-par-1"}, "tls://s:8786")
    with pytest.raises(ConfigError, match="no v2s migration host is connected"):
        check_hosts([], {"m00": "fr-par-1"}, "tls://s:8786")


def _wait_for(stream: Any, needle: str) -> None:
    for line in stream:
        if needle in line:
            return
    raise AssertionError(f"{needle!r} never printed")


def test_ctrl_c_cancels_running_tasks_and_saves_state(lab: DaskLab, tmp_path: Path) -> None:
    _project(lab, tmp_path, vms=4, knobs={"slow": _slow(60), "progress_steps": 60})
    proc = subprocess.Popen(v2s_cmd("apply", "-auto-approve"), cwd=tmp_path, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            stdin=subprocess.DEVNULL)
    try:
        assert proc.stdout is not None
        _wait_for(proc.stdout, "disk_export[0]: apply progress")  # running on a host
        proc.send_signal(signal.SIGINT)  # stop scheduling
        _wait_for(proc.stdout, "interrupt:")
        proc.send_signal(signal.SIGINT)  # cancel running work
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, out + err
    assert set(lab.busy().values()) == {0}  # nothing left running on the hosts
    exports = {a: r for a, r in _state(tmp_path)["resources"].items() if "disk_export" in a}
    assert exports and all(r["status"] == "tainted" for r in exports.values()), {
        a: (r["status"], r["checkpoint"]) for a, r in exports.items()}
    assert any((r["checkpoint"] or {}).get("step", 0) >= 1 for r in exports.values())  # saved
    where = {a: r["host"] for a, r in exports.items()}
    assert set(where.values()) <= {"host-a", "host-b"}, where
    _project(lab, tmp_path, vms=4, knobs={"progress_steps": 60})
    again = subprocess.run(v2s_cmd("apply", "-auto-approve"), cwd=tmp_path, text=True,
                           capture_output=True, timeout=300, stdin=subprocess.DEVNULL)
    assert again.returncode == 0, again.stdout + again.stderr
    assert set(creations(tmp_path).values()) == {1}
    after = _state(tmp_path)["resources"]
    assert {a: after[a]["host"] for a in where} == where  # resumed where its data is


def test_lost_host_fails_its_migrations_clearly_and_the_rerun_converges(
        lab: DaskLab, tmp_path: Path) -> None:
    lab.add_worker("ams-1", "nl-ams-1", attach_slots=1)
    lab.add_worker("ams-2", "nl-ams-1", attach_slots=1)
    lab.wait_workers(4)
    _project(lab, tmp_path, vms=4, knobs={"slow": _slow(1.5), "progress_steps": 3},
             zone="nl-ams-1")
    proc = subprocess.Popen(v2s_cmd("apply", "-auto-approve"), cwd=tmp_path, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            stdin=subprocess.DEVNULL)
    try:
        assert proc.stdout is not None
        _wait_for(proc.stdout, "disk_export[0]: apply progress")
        lab.kill("ams-1")
        out, err = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    # the killed host was running a data-path task: that migration stops with a clear
    # error, the others finish on the remaining host
    assert proc.returncode == 5, out + err
    assert "migration host" in err and "(ams-1, zone nl-ams-1) was lost" in err, err
    assert "run `v2s apply` again" in err and "Traceback" not in err
    again = subprocess.run(v2s_cmd("apply", "-auto-approve"), cwd=tmp_path, text=True,
                           capture_output=True, timeout=300, stdin=subprocess.DEVNULL)
    assert again.returncode == 0, again.stdout + again.stderr
    plan = subprocess.run(v2s_cmd("plan", "-detailed-exitcode"), cwd=tmp_path, text=True,
                          capture_output=True, timeout=120, stdin=subprocess.DEVNULL)
    assert plan.returncode == 0, plan.stdout + plan.stderr
    assert set(creations(tmp_path).values()) == {1}  # nothing created twice


def test_a_connected_host_without_attach_slots_is_refused_before_anything_is_created(
        lab: DaskLab, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lab.add_worker("no-slots", "fr-par-1", attach_slots=0)
    lab.wait_workers(len(lab.workers))
    try:
        _project(lab, tmp_path, vms=2, knobs={})
        res = run(capsys, tmp_path, "apply", "-auto-approve")
    finally:
        lab.kill("no-slots")
    assert res.code == 1, res.text
    assert "(no-slots, zone fr-par-1) has attach_slots=0" in res.err and "hint:" in res.err
    assert not store(tmp_path)["objects"] and not _state(tmp_path)["resources"]


def test_one_ctrl_c_lets_running_tasks_finish_and_starts_no_queued_one(
        lab: DaskLab, tmp_path: Path) -> None:
    _project(lab, tmp_path, vms=6, knobs={"slow": _slow(4), "progress_steps": 4})
    proc = subprocess.Popen(v2s_cmd("apply", "-auto-approve"), cwd=tmp_path, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            stdin=subprocess.DEVNULL)
    try:
        assert proc.stdout is not None
        _wait_for(proc.stdout, "disk_export[0]: apply progress")  # 4 run, 2 wait for a slot
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, out + err
    started = [c["address"] for c in store(tmp_path)["calls"]
               if c["op"] == "apply" and ".disk_export[" in c["address"]]
    assert len(started) == 4, started  # two hosts x two slots; the queued two never started
    exports = {a: r for a, r in _state(tmp_path)["resources"].items() if "disk_export" in a}
    assert sum(r["status"] == "created" for r in exports.values()) == 4, exports  # finished
    assert "not started: interrupted while waiting for capacity" in err
    assert set(lab.busy().values()) == {0}
