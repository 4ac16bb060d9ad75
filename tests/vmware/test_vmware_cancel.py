"""A second Ctrl-C ends vCenter waits at once; the next apply adopts what the task made."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest
from v2s_vmware._vmomi import vim
from v2s_vmware.provider import VMwareProvider

from tests.lab.scenario import VM, Disk, load
from tests.lab.vcsim import Vcsim
from tests.vmware.conftest import FakeContext
from vmware2scw.errors import TransientError
from vmware2scw.provider import ApplyRequest, InventoryRequest

MiB = 1 << 20
ADDRESS = "migration.slow-task.vmware_snapshot"
PLANNED = {"vm": "slow-task", "vm_uuid": "", "name": "v2s-0badcafe", "quiesce": False,
           "power_off_source": False}


def test_cancel_ends_a_running_task_wait_and_the_rerun_adopts(
    vc: Vcsim, provider: VMwareProvider, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    load(vc, [VM("slow-task", disks=(Disk(capacity_bytes=MiB),), snapshots=())])
    session = provider.session
    real = session.properties

    def still_running(obj: Any, *paths: str) -> dict[str, Any]:  # vcsim ends tasks at once
        return {"info.state": "running"} if isinstance(obj, vim.Task) else real(obj, *paths)

    monkeypatch.setattr(session, "properties", still_running)
    ctx = FakeContext(ADDRESS, tmp_path)
    cancel = threading.Timer(0.5, ctx.cancelled.set)
    cancel.start()
    began = time.monotonic()
    with pytest.raises(TransientError, match="cancelled while waiting: creating snapshot"):
        provider.apply(ApplyRequest(address=ADDRESS, type="vmware_snapshot", prior=None,
                                    planned=PLANNED), ctx)
    waited = time.monotonic() - began
    cancel.join()
    assert waited < 0.5 + 5.0 < provider.settings.timeout_s  # ended by the cancel, not the timeout
    monkeypatch.undo()
    again = provider.apply(ApplyRequest(address=ADDRESS, type="vmware_snapshot", prior=None,
                                        planned=PLANNED), FakeContext(ADDRESS, tmp_path))
    vm = provider.inventory(InventoryRequest(patterns=("slow-task",))).vms[0]
    assert vm.snapshots == ("v2s-0badcafe",)  # the cancelled task's snapshot, adopted
    assert again.attributes["snapshot_moref"]
