"""Cold cutover fallbacks vcsim cannot show: no VMware Tools, a guest that ignores shutdown."""

from __future__ import annotations

from typing import Any

import pytest
from v2s_vmware import cutover
from v2s_vmware._vmomi import vim


class FakeVM:
    def __init__(self, *, tools: bool, obeys: bool) -> None:
        self.state, self.tools, self.obeys = "poweredOn", tools, obeys
        self.calls: list[str] = []

    def ShutdownGuest(self) -> None:  # noqa: N802 - the vSphere method name
        self.calls.append("ShutdownGuest")
        if not self.tools:
            raise vim.fault.ToolsUnavailable()
        if self.obeys:
            self.state = "poweredOff"

    def PowerOffVM_Task(self) -> str:  # noqa: N802
        self.calls.append("PowerOff")
        self.state = "poweredOff"
        return "task"

    def PowerOnVM_Task(self) -> str:  # noqa: N802
        self.calls.append("PowerOn")
        self.state = "poweredOn"
        return "task"


class FakeSession:
    """Just what cutover uses: properties, call, wait_task."""

    def __init__(self, vm: FakeVM) -> None:
        self.vm = vm

    def properties(self, _obj: Any, *_paths: str) -> dict[str, Any]:
        return {"runtime.powerState": self.vm.state}

    def call(self, fn: Any) -> Any:
        return fn(None)

    def wait_task(self, task: Any, **_kw: Any) -> None:
        assert task == "task"


@pytest.mark.parametrize(("tools", "obeys", "how", "calls"), [
    (True, True, "guest-shutdown", ["ShutdownGuest"]),
    (False, True, "power-off", ["ShutdownGuest", "PowerOff"]),
    (True, False, "power-off", ["ShutdownGuest", "PowerOff"]),
])
def test_power_off_falls_back_to_a_hard_stop(tools: bool, obeys: bool, how: str,
                                             calls: list[str]) -> None:
    vm = FakeVM(tools=tools, obeys=obeys)
    s: Any = FakeSession(vm)
    assert cutover.power_off(s, vm, timeout_s=0.2, address="a") == how
    assert vm.calls == calls and vm.state == "poweredOff"
    assert cutover.power_off(s, vm, timeout_s=0.2, address="a") == "already-off"
    assert cutover.restore(s, vm, "poweredOn", address="a") is True
    assert vm.state == "poweredOn"
    assert cutover.restore(s, vm, "poweredOff", address="a") is False
