"""Running the image tools (qemu-img, sfdisk, grub, guestfish, virt-v2v), always with a timeout.

Quick queries get ``QUICK_S``; one guestfish command (the appliance's launch, a script
such as update-initramfs under TCG) gets ``GUESTFISH_S``; whole-disk work (qemu-img
convert, virt-v2v) gets ``BASE_S`` plus ``PER_GIB_S`` per GiB, i.e. it is allowed
~8.5 MiB/s, several times slower than the slowest run seen in the lab. Inside
``cancellable(event)`` a set event kills the running tool within half a second.
"""

from __future__ import annotations

import contextlib
import subprocess
import threading
import time
from collections.abc import Iterator, Sequence
from contextvars import ContextVar
from typing import Any

from vmware2scw.errors import ProviderError, TransientError

QUICK_S = 300.0
GUESTFISH_S = 1800.0
BASE_S = 600.0
PER_GIB_S = 120.0
_POLL_S = 0.5
_CANCEL: ContextVar[threading.Event | None] = ContextVar("v2s_qemu_cancel", default=None)


def scaled(size_bytes: int) -> float:
    """The timeout for work that reads or writes ``size_bytes`` of disk."""
    return BASE_S + PER_GIB_S * size_bytes / 2**30


@contextlib.contextmanager
def cancellable(event: threading.Event) -> Iterator[None]:
    """Within the block (this thread), tools stop when ``event`` is set: TransientError."""
    token = _CANCEL.set(event)
    try:
        yield
    finally:
        _CANCEL.reset(token)


def run(argv: Sequence[str], *, timeout: float, error: type[ProviderError] = ProviderError,
        **kw: Any) -> subprocess.CompletedProcess[str]:
    """Run ``argv`` (text; output captured unless redirected); ``error`` if it times out."""
    if "stdout" not in kw and "stderr" not in kw:
        kw.update(stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    cancelled = _CANCEL.get()
    deadline = time.monotonic() + timeout
    with subprocess.Popen(list(argv), text=True, **kw) as proc:
        while True:
            left = deadline - time.monotonic()
            try:
                out, err = proc.communicate(timeout=max(0.0, min(left, _POLL_S)))
            except subprocess.TimeoutExpired:
                stop = None
                if left <= _POLL_S:
                    stop = error(f"{argv[0]} did not finish within {timeout:.0f} s and was killed")
                elif cancelled is not None and cancelled.is_set():
                    stop = TransientError(f"{argv[0]} stopped: the run was cancelled")
                if stop is None:
                    continue
                proc.kill()
                proc.communicate()
                raise stop from None
            return subprocess.CompletedProcess(list(argv), proc.returncode, out, err)
