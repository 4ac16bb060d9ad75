"""``vmware_snapshot``: find, create (adopting one of the same name) and remove a VM snapshot.

The snapshot's description carries the lineage and address tags, so a snapshot made just
before a crash is recognised and adopted on the next run, and never confused with the
user's own snapshots.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from typing import Any

from v2s_vmware._vmomi import vim
from v2s_vmware.session import Session
from vmware2scw.errors import ProviderError


def vm_ref(session: Session, moref: str) -> Any:
    """A VirtualMachine managed-object reference from its moref value (no round trip)."""
    _ = session.content
    return vim.VirtualMachine(moref, session.stub)


def _walk(tree: Any) -> Iterator[Any]:
    for node in tree or ():
        yield node
        yield from _walk(node.childSnapshotList)


def snapshot_nodes(session: Session, vm: Any) -> list[Any]:
    """Every snapshot node of the VM (empty when it has none or the VM is gone)."""
    snap = session.properties(vm, "snapshot").get("snapshot")
    return list(_walk(snap.rootSnapshotList)) if snap is not None else []


def find_vm(session: Session, *, moref: str = "", uuid: str = "", name: str = "") -> Any | None:
    """The VM by moref (checked against uuid/name when given), else by instance UUID."""
    if moref:
        props = session.properties(vm_ref(session, moref), "name", "config.instanceUuid")
        if props and (not uuid or props.get("config.instanceUuid") == uuid) and (
            uuid or not name or props.get("name") == name
        ):
            return vm_ref(session, moref)
    if uuid:
        found = session.call(
            lambda c: c.searchIndex.FindByUuid(None, uuid, True, True)  # instance UUID
        )
        return found
    return None


def find_snapshot(nodes: list[Any], *, moref: str = "", name: str = "") -> Any | None:
    """A snapshot node by moref, else by exact name."""
    for node in nodes:
        if moref and node.snapshot._moId == moref:
            return node
    for node in nodes:
        if name and node.name == name:
            return node
    return None


def create(session: Session, vm: Any, *, name: str, description: str, quiesce: bool,
           address: str, cancelled: threading.Event | None = None) -> tuple[str, str]:
    """Create a disk-only snapshot and wait for it; returns (snapshot moref, created_at)."""
    task = session.call(lambda _c: vm.CreateSnapshot_Task(
        name=name, description=description, memory=False, quiesce=quiesce))
    result = session.wait_task(task, what=f"creating snapshot {name!r}", address=address,
                               cancelled=cancelled)
    created = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    if result is None:
        node = find_snapshot(snapshot_nodes(session, vm), name=name)
        if node is None:
            raise ProviderError(f"snapshot {name!r} vanished right after creation", address=address)
        return str(node.snapshot._moId), created
    return str(result._moId), created


def remove(session: Session, snapshot: Any, *, address: str,
           cancelled: threading.Event | None = None) -> None:
    """Remove one snapshot (children kept, disks consolidated) and wait."""
    try:
        task = session.call(lambda _c: snapshot.RemoveSnapshot_Task(
            removeChildren=False, consolidate=True))
    except vim.fault.NotFound:
        return
    session.wait_task(task, what="removing the v2s snapshot", address=address,
                      cancelled=cancelled)


def created_at(node: Any) -> str:
    """The snapshot's creation time, ISO 8601."""
    t = getattr(node, "createTime", None)
    return t.isoformat(timespec="seconds") if t is not None else ""
