"""The lab's vcsim fixture: starts fast, serves TLS with its own certificate, leaves nothing."""

from __future__ import annotations

import json
import os
import signal
import ssl
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from tests.lab import pid_alive
from tests.lab.vcsim import Vcsim

pytestmark = pytest.mark.lab



def test_starts_fast_verifies_tls_and_leaves_nothing() -> None:
    started = time.monotonic()
    with Vcsim() as vc:
        elapsed = time.monotonic() - started
        pid, work, ds = vc.pid, vc.work_dir, vc.datastore_dir()
        assert ds.is_dir() and ds.is_relative_to(work)
        # our certificate verifies against the file the fixture hands out
        ctx = ssl.create_default_context(cafile=str(vc.cert_file))
        assert ctx.check_hostname
        with requests.Session() as s:
            s.trust_env = False
            r = s.get(f"https://{vc.host}/about", verify=str(vc.cert_file), timeout=5)
            assert r.status_code == 200
            with pytest.raises(requests.exceptions.SSLError):
                s.get(f"https://{vc.host}/about", verify=True, timeout=5)
    print(f"vcsim start: {elapsed:.2f} s")
    assert elapsed < 10
    assert not pid_alive(pid)
    assert not work.exists()


def test_patch_rejects_unknown_vm() -> None:
    with Vcsim() as vc, pytest.raises(Exception, match="no such vm"):
        vc.patch("vm-does-not-exist", "encrypt")


def test_parent_killed_leaves_nothing() -> None:
    """kill -9 of the test process: vcsim sees its stdin close, exits and removes its dir."""
    code = ("import json,sys,time\nfrom tests.lab.vcsim import Vcsim\nvc=Vcsim().start()\n"
            "print(json.dumps({'pid': vc.pid, 'dir': str(vc.work_dir)}), flush=True)\n"
            "time.sleep(60)\n")
    root = Path(__file__).resolve().parents[2]
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, cwd=root,
                            text=True)
    info = json.loads(proc.stdout.readline())
    assert pid_alive(info["pid"]) and os.path.isdir(info["dir"])
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    proc.stdout.close()
    deadline = time.monotonic() + 10
    while (pid_alive(info["pid"]) or os.path.exists(info["dir"])) and time.monotonic() < deadline:
        time.sleep(0.05)  # polling for the child's exit, bounded
    assert not os.path.exists(info["dir"])
    assert not pid_alive(info["pid"]) or _zombie(info["pid"])


def _zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ", 1)[1].startswith("Z")
    except FileNotFoundError:
        return False
