"""Cold cutover: shut the guest down (then power off after a timeout), and power it back on."""

from __future__ import annotations

import threading
import time
from typing import Any

from v2s_vmware._vmomi import vim
from v2s_vmware.session import Session
from vmware2scw.errors import TransientError

POWERED_ON = "poweredOn"
POWERED_OFF = "poweredOff"


def power_state(session: Session, vm: Any) -> str:
    """poweredOn | poweredOff | suspended ('' when the VM is gone)."""
    return str(session.properties(vm, "runtime.powerState").get("runtime.powerState") or "")


def _wait_off(session: Session, vm: Any, timeout_s: float, stop: threading.Event,
              address: str) -> bool:
    deadline = time.monotonic() + timeout_s
    delay = 0.05
    while time.monotonic() < deadline:
        if power_state(session, vm) == POWERED_OFF:
            return True
        if stop.wait(delay):
            raise TransientError("cancelled while the source VM shuts down", address=address)
        delay = min(delay * 2, 2.0)
    return power_state(session, vm) == POWERED_OFF


def power_off(session: Session, vm: Any, *, timeout_s: float, address: str,
              cancelled: threading.Event | None = None) -> str:
    """Stop the VM: a clean guest shutdown when tools allow, else (or after the timeout)
    a hard power off. Returns how it stopped: already-off | guest-shutdown | power-off."""
    stop = cancelled or threading.Event()
    if power_state(session, vm) == POWERED_OFF:
        return "already-off"
    try:
        session.call(lambda _c: vm.ShutdownGuest())
        if _wait_off(session, vm, timeout_s, stop, address):
            return "guest-shutdown"
    except (vim.fault.ToolsUnavailable, vim.fault.InvalidState, vim.fault.TaskInProgress):
        pass  # no tools, or busy: fall through to a hard power off
    if power_state(session, vm) != POWERED_OFF:
        task = session.call(lambda _c: vm.PowerOffVM_Task())
        session.wait_task(task, what="powering off the source VM", address=address,
                          cancelled=stop)
    return "power-off"


def restore(session: Session, vm: Any, prior: str, *, address: str,
            cancelled: threading.Event | None = None) -> bool:
    """Power the VM back on when it was on before the cutover; True when it did."""
    if prior != POWERED_ON or power_state(session, vm) != POWERED_OFF:
        return False
    task = session.call(lambda _c: vm.PowerOnVM_Task())
    session.wait_task(task, what="powering the source VM back on", address=address,
                      cancelled=cancelled)
    return True
