"""Allocated areas of a disk at a snapshot: ``QueryChangedDiskAreas`` with ``"*"`` (CBT).

Also the snapshot's own view of the disk (its base file and change ID), so a reader takes
the disk as the snapshot froze it rather than the VM's running redo log.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from v2s_vmware._vmomi import vim, vmodl
from v2s_vmware.session import Session
from vmware2scw.errors import ProviderError

Span = tuple[int, int]  # [start, end) in bytes


@dataclass(frozen=True)
class SnapshotDisk:
    """One disk as a snapshot's config records it."""

    file: str  # "[ds] dir/x.vmdk": the file the snapshot froze
    change_id: str  # "" when changed block tracking was off at the snapshot


def snapshot_ref(session: Session, moref: str) -> Any:
    """A VirtualMachineSnapshot reference from its moref value (no round trip)."""
    _ = session.content
    return vim.vm.Snapshot(moref, session.stub)


def snapshot_disk(session: Session, snap: Any, key: int, address: str) -> SnapshotDisk:
    """The disk ``key`` in the snapshot's config."""
    devices = session.properties(snap, "config.hardware.device").get("config.hardware.device")
    for d in devices or ():
        if isinstance(d, vim.vm.device.VirtualDisk) and d.key == key:
            return SnapshotDisk(file=str(d.backing.fileName),
                                change_id=str(getattr(d.backing, "changeId", None) or ""))
    raise ProviderError(f"the snapshot has no disk with device key {key}", address=address,
                        hint="run `v2s plan` again: the VM's disks changed")


def allocated_areas(session: Session, vm: Any, snap: Any, key: int, capacity: int,
                    since: str = "*") -> list[Span] | None:
    """Areas reported by ``QueryChangedDiskAreas`` (paged); None when CBT cannot answer."""
    spans: list[Span] = []
    offset = 0
    while offset < capacity:
        def query(_c: Any, o: int = offset) -> Any:
            return vm.QueryChangedDiskAreas(snapshot=snap, deviceKey=key, startOffset=o,
                                            changeId=since)

        try:
            info = session.call(query)
        except (vim.fault.FileFault, vmodl.fault.NotSupported):
            return None  # tracking not active at the snapshot, or a foreign change id
        for a in info.changedArea or ():
            start, end = int(a.start), min(capacity, int(a.start) + int(a.length))
            if spans and spans[-1][1] >= start:
                spans[-1] = (spans[-1][0], max(spans[-1][1], end))
            elif end > start:
                spans.append((start, end))
        if int(info.length) <= 0:
            raise ProviderError("QueryChangedDiskAreas answered an empty page at offset "
                                f"{offset}", address="")
        offset = int(info.startOffset) + int(info.length)
    return spans


def chunk_spans(spans: list[Span], size: int, chunk: int) -> dict[int, list[Span]]:
    """Per chunk index, the parts of ``spans`` inside it; chunks with none are absent."""
    out: dict[int, list[Span]] = {}
    for start, end in spans:
        pos = start
        while pos < min(end, size):
            i = pos // chunk
            stop = min(end, (i + 1) * chunk, size)
            out.setdefault(i, []).append((pos, stop))
            pos = stop
    return out
