"""Image tools run with a timeout, and stop when the run is cancelled."""

from __future__ import annotations

import threading
import time

import pytest
from v2s_qemu import tools
from v2s_qemu.qcow2 import ImageError

from vmware2scw.errors import TransientError


def test_output_is_captured_and_the_exit_code_kept() -> None:
    r = tools.run(["sh", "-c", "echo out; echo err >&2; exit 3"], timeout=30)
    assert (r.returncode, r.stdout, r.stderr) == (3, "out\n", "err\n")


def test_a_tool_past_its_timeout_is_killed_with_a_clear_error() -> None:
    began = time.monotonic()
    with pytest.raises(ImageError, match=r"^sleep did not finish within 1 s and was killed$"):
        tools.run(["sleep", "60"], timeout=1, error=ImageError)
    assert time.monotonic() - began < 30


def test_a_cancelled_run_stops_the_tool() -> None:
    cancelled = threading.Event()
    timer = threading.Timer(0.3, cancelled.set)
    timer.start()
    began = time.monotonic()
    with tools.cancellable(cancelled), pytest.raises(TransientError, match="cancelled"):
        tools.run(["sleep", "60"], timeout=600)
    timer.join()
    assert time.monotonic() - began < 30  # the cancel, not the timeout
    assert tools.run(["true"], timeout=30).returncode == 0  # outside the block: not cancelled


def test_whole_disk_timeouts_scale_with_size() -> None:
    assert tools.scaled(0) == tools.BASE_S
    assert tools.scaled(10 * 2**30) == tools.BASE_S + 10 * tools.PER_GIB_S
