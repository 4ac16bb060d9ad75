"""Child processes that die with v2s, started without ``preexec_fn`` (unsafe in threads).

The walker runs providers in threads, where ``preexec_fn`` may deadlock the child and
``PR_SET_PDEATHSIG`` fires when the spawning *thread* ends. Instead each child runs in
its own session (one process group to kill), beside a watcher process that blocks on a
pipe only v2s holds open: when v2s exits, even by SIGKILL, the watcher kills the group.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

_WATCHER = (
    "import os, signal, sys\n"
    "pgid = int(sys.stdin.readline() or 0)\n"
    "sys.stdin.read()\n"  # returns when the parent closes the pipe, or dies
    "if pgid > 0:\n"
    "    try:\n"
    "        os.killpg(pgid, signal.SIGKILL)\n"
    "    except OSError:\n"
    "        pass\n"
)


@dataclass
class Guarded:
    """A child process and the watcher that kills its process group when v2s dies."""

    proc: subprocess.Popen[bytes]
    watcher: subprocess.Popen[str]

    def stop(self) -> None:
        """Kill the child's process group, release the watcher, and reap both."""
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
        if self.watcher.stdin is not None:
            with contextlib.suppress(OSError):
                self.watcher.stdin.close()  # the group is dead (a zombie): its id is not reused
        try:
            self.watcher.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.watcher.kill()
            self.watcher.wait()
        self.proc.wait()
        if self.proc.stderr:
            self.proc.stderr.close()


def spawn(argv: Sequence[str], **kw: Any) -> Guarded:
    """Start ``argv`` in a new session, watched: it cannot outlive this process."""
    watcher = subprocess.Popen(
        [sys.executable, "-I", "-c", _WATCHER], stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True,
        start_new_session=True,
    )  # fmt: skip
    try:
        proc = subprocess.Popen(list(argv), start_new_session=True, **kw)
    except BaseException:
        assert watcher.stdin is not None
        watcher.stdin.close()
        watcher.wait()
        raise
    assert watcher.stdin is not None
    watcher.stdin.write(f"{proc.pid}\n")
    watcher.stdin.flush()
    return Guarded(proc, watcher)
