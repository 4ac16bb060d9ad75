"""pyvmomi helpers for the vcsim tests, through v2s_vmware's Session as the provider uses it."""

from __future__ import annotations

import time
from typing import Any

from v2s_vmware._vmomi import vim
from v2s_vmware.session import Session

from tests.lab.vcsim import Vcsim

BLOCK = 64 << 10  # ESXi's CBT block: changed areas are whole 64 KiB blocks


def vm_ref(session: Session, moref: str) -> Any:
    return vim.VirtualMachine(moref, session.stub)


def disks(session: Session, obj: Any) -> list[Any]:
    """The virtual disks in a VM's or a snapshot's config."""
    devices = session.properties(obj, "config.hardware.device").get("config.hardware.device")
    return [d for d in devices or () if isinstance(d, vim.vm.device.VirtualDisk)]


def change_id(session: Session, obj: Any, key: int = 2000) -> str | None:
    """``backing.changeId`` of one disk of a VM or snapshot (None when not tracked)."""
    return next(d.backing.changeId for d in disks(session, obj) if d.key == key)


def set_cbt(session: Session, vm: Any, enabled: bool) -> None:
    spec = vim.vm.ConfigSpec(changeTrackingEnabled=enabled)
    session.wait_task(session.call(lambda _c: vm.ReconfigVM_Task(spec=spec)), what="reconfigure")


def snapshot(session: Session, vm: Any, name: str) -> Any:
    task = session.call(lambda _c: vm.CreateSnapshot_Task(name=name, memory=False, quiesce=False))
    return session.wait_task(task, what="snapshot")


def remove(session: Session, snap: Any) -> None:
    task = session.call(lambda _c: snap.RemoveSnapshot_Task(removeChildren=False))
    session.wait_task(task, what="remove snapshot")


def power(session: Session, vm: Any, on: bool) -> None:
    task = session.call(lambda _c: vm.PowerOnVM_Task() if on else vm.PowerOffVM_Task())
    session.wait_task(task, what="power")


def changed_areas(session: Session, vm: Any, snap: Any, key: int, since: str,
                  capacity: int) -> tuple[list[tuple[int, int]], int]:
    """Every (start, length) QueryChangedDiskAreas reports, paging as VDDK's samples do; and
    the number of calls it took."""
    areas: list[tuple[int, int]] = []
    offset, calls = 0, 0
    while offset < capacity:
        info = session.call(lambda _c, o=offset: vm.QueryChangedDiskAreas(
            snapshot=snap, deviceKey=key, startOffset=o, changeId=since))
        calls += 1
        areas += [(a.start, a.length) for a in info.changedArea or ()]
        assert info.startOffset == offset and info.length > 0
        offset = info.startOffset + info.length
    return areas, calls


def block_runs(spans: list[tuple[int, int]], capacity: int) -> list[tuple[int, int]]:
    """The 64 KiB-aligned, merged areas covering byte spans (offset, length)."""
    blocks = sorted({b for off, n in spans
                     for b in range(off // BLOCK, (off + n - 1) // BLOCK + 1)})
    runs: list[tuple[int, int]] = []
    for b in blocks:
        start, end = b * BLOCK, min((b + 1) * BLOCK, capacity)
        if runs and runs[-1][0] + runs[-1][1] == start:
            runs[-1] = (runs[-1][0], end - runs[-1][0])
        else:
            runs.append((start, end - start))
    return runs


def datastore_get(vc: Vcsim, session: Session, path: str, datastore: str = "LocalDS_0") -> Any:
    """GET one datastore file over HTTPS (the provider's read path)."""
    url = (f"https://{vc.host}/folder/{path}?dcPath={vc.datacenter}&dsName={datastore}")
    return session.http().get(url, cookies={"vmware_soap_session": session.cookie()}, timeout=60)


def wait_lease(session: Session, lease: Any, *states: str, timeout_s: float = 30) -> str:
    """Poll the lease's state through the PropertyCollector until it is one of ``states``."""
    deadline = time.monotonic() + timeout_s
    while True:
        state = str(session.properties(lease, "state").get("state"))
        if state in states or time.monotonic() > deadline:
            return state
        time.sleep(0.05)
