"""End to end, as `make demo` does it: one VM from vcsim migrated to the Scaleway
simulator by real `v2s` processes, its disk booted, a no-op re-plan, destroy, nothing left.
ONE migration: conversion and boots run under TCG and take minutes."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests

from tests.lab import pid_alive
from tests.lab.demo import run_demo
from tests.lab.lab import MIGRATION, Lab

pytestmark = [pytest.mark.e2e, pytest.mark.lab]


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_demo_migrates_boots_converges_and_leaves_nothing() -> None:
    lines: list[str] = []
    with Lab() as lab:
        root = lab.root
        result = run_demo(lab, capture=True, say=lines.append)
        pids = [p for ps in lab.pids().values() for p in ps]
    # apply: every resource created, run report written with stage timings and bytes
    assert result.exit_codes["apply"] == 0, result.outputs["apply"][-3000:]
    assert "Apply complete" in result.outputs["apply"]
    report = result.report
    assert report["ok"] is True
    (mig,) = report["migrations"]
    assert mig["name"] == MIGRATION
    stages = {r["stage"] for r in mig["rows"] if r["operation"] == "apply"}
    assert {"snapshot", "export", "convert", "upload", "import", "image", "server"} <= stages
    assert result.bytes_moved > 100 * 2**20  # the guest's data went through export/upload
    assert mig["guest_changes"], "the conversion must say what it changed in the guest"
    assert "| server |" in result.report_md
    # the migrated disk booted in the simulator, with the lab guest's marker line
    assert result.boot["state"] == "up"
    assert "V2S-MARKER" in result.boot["marker"]
    assert "tools=absent" in result.boot["marker"]  # open-vm-tools removed
    assert 22 in {int(p) for p in result.boot["ports"]}
    # second plan: nothing to do (detailed exit code 0)
    assert result.exit_codes["plan again"] == 0, result.outputs["plan again"]
    # destroy and teardown: nothing left anywhere
    assert result.exit_codes["destroy"] == 0
    assert result.leftovers == []
    assert not root.exists()
    assert [p for p in pids if pid_alive(p)] == []
    assert any("Nothing left behind" in line for line in lines)


def test_lab_teardown_after_an_error_leaves_nothing() -> None:
    root: Path | None = None
    pids: list[int] = []
    with pytest.raises(RuntimeError, match="boom"), Lab(load_guest=False) as lab:
        root = lab.root
        pids = [p for ps in lab.pids().values() for p in ps]
        assert pids
        # the migration host is part of the lab, not something v2s left behind
        assert lab.leftovers() == []
        meta = requests.get(lab.env["V2S_SCW_METADATA_URL"] + "/conf?format=json", timeout=5)
        assert meta.json()["name"] == "v2s-lab-host"
        assert Path(lab.env["V2S_SCW_DEVICE_DIR"]).is_dir()
        raise RuntimeError("boom")
    assert root is not None and not root.exists()
    assert [p for p in pids if pid_alive(p)] == []


_KILLED_LAB = """
import json, time
from scaleway.block.v1 import BlockV1API, CreateVolumeRequestFromEmpty
from scaleway.instance.v1 import InstanceV1API
from tests.lab.lab import Lab
lab = Lab(load_guest=False).start()
worker = lab.add_host("worker-2")
vol = BlockV1API(lab.sim.client()).create_volume(
    from_empty=CreateVolumeRequestFromEmpty(size=10**9))
lab.sim.advance(1)
InstanceV1API(lab.sim.client()).attach_server_volume(
    server_id=worker.server_id, volume_id=vol.id, volume_type="sbs_volume")
lab.sim.advance(1)  # the device link appears a moment after the attach
print(json.dumps({**lab.describe(), "device": str(worker.device_path(vol.id))}), flush=True)
time.sleep(600)
"""


def test_a_killed_lab_leaves_no_process_or_directory() -> None:
    import json
    import signal
    import subprocess
    import sys
    import time

    proc = subprocess.Popen([sys.executable, "-c", _KILLED_LAB], stdout=subprocess.PIPE,
                            text=True, cwd=Path(__file__).resolve().parents[2])
    assert proc.stdout is not None
    info = json.loads(proc.stdout.readline())
    pids = [p for ps in info["processes"].values() for p in ps]
    dirs = [Path(info["root"]), Path(info["simulator_dir"])]
    assert all(d.exists() for d in dirs) and len(pids) >= 3
    hosts = info["migration_hosts"]  # the lab's host and a worker's, each with a device
    assert len(hosts) == 2 and Path(info["device"]).exists()
    assert all(requests.get(h["V2S_SCW_METADATA_URL"] + "/conf?format=json", timeout=5).ok
               for h in hosts)
    proc.send_signal(signal.SIGKILL)  # no Python cleanup runs in the lab process
    proc.wait()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and (any(map(pid_alive, pids)) or any(d.exists()
                                                                          for d in dirs)):
        time.sleep(0.2)
    assert [p for p in pids if pid_alive(p)] == []
    assert [d for d in dirs if d.exists()] == []
    assert not Path(info["device"]).exists()
    for h in hosts:  # the metadata services died with the lab
        with pytest.raises(requests.ConnectionError):
            requests.get(h["V2S_SCW_METADATA_URL"] + "/conf?format=json", timeout=5)
