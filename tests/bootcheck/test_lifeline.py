"""qemu and other long children: no preexec_fn, yet they die with v2s however it ends."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from v2s_qemu import lifeline
from v2s_qemu.bootcheck import CANCELLED, boot_check

ROOT = Path(__file__).resolve().parents[2]
CHILD = """
import sys, time
from v2s_qemu import lifeline
g = lifeline.spawn(["sleep", "300"])
print(g.proc.pid, flush=True)
time.sleep(300)
"""


def _gone(pid: int, within: float = 30.0) -> bool:
    """True once ``pid`` no longer exists (or is a zombie of ours), polled up to ``within``."""
    end = time.monotonic() + within
    while time.monotonic() < end:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


def test_a_child_outlives_the_thread_that_started_it_and_stops_cleanly() -> None:
    box: list[lifeline.Guarded] = []
    t = threading.Thread(target=lambda: box.append(lifeline.spawn(["sleep", "300"])))
    t.start()
    t.join()  # PR_SET_PDEATHSIG would have killed the child here
    g = box[0]
    assert g.proc.poll() is None
    assert os.getpgid(g.proc.pid) == g.proc.pid  # its own process group
    g.stop()
    assert g.proc.returncode == -signal.SIGKILL and g.watcher.returncode == 0


def test_a_child_dies_with_a_parent_killed_by_sigkill() -> None:
    env = {**os.environ, "PYTHONPATH": f"{ROOT}:{ROOT / 'providers'}"}
    parent = subprocess.Popen([sys.executable, "-c", CHILD], stdout=subprocess.PIPE, text=True,
                              env=env, start_new_session=True)
    assert parent.stdout is not None
    pid = int(parent.stdout.readline())
    os.kill(pid, 0)  # running
    parent.kill()
    parent.wait()
    parent.stdout.close()
    assert _gone(pid)  # killed by the watcher (and reaped by init)


def test_a_cancelled_boot_check_stops_qemu(tmp_path: Path) -> None:
    disk = tmp_path / "d.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(disk), "1M"], check=True)
    cancelled = threading.Event()
    cancelled.set()
    r = boot_check([disk], "scaleway", timeout=600, cancelled=cancelled)
    assert (r.ok, r.reason) == (False, CANCELLED)
    assert r.seconds < 60  # not the timeout
