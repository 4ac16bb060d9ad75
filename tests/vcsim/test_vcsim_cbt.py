"""Changed block tracking in the lab's vcsim, against the vSphere API reference.

Follows: vSphere Web Services API reference, VirtualMachine.QueryChangedDiskAreas and
DiskChangeInfo (paging by startOffset/length, "*" for the allocated areas, FileFault),
VirtualMachineConfigSpec.changeTrackingEnabled and VirtualDiskFlatVer2BackingInfo.changeId;
VDDK Programming Guide, "Enable Changed Block Tracking" (a powered-on VM starts tracking at
its next stun/unstun cycle: power on, snapshot create/delete/revert) and "About Changed Block
Tracking" ("*" returns the allocated areas; changes from before tracking was enabled cannot be
reported, so a change id from an earlier tracking period is refused).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from v2s_vmware._vmomi import vim, vmodl
from v2s_vmware.session import Session
from v2s_vmware.settings import resolve

from tests.lab.scenario import Disk
from tests.lab.vcsim import Vcsim
from tests.vcsim.conftest import make_vm
from tests.vcsim.vsphere import (
    BLOCK,
    block_runs,
    change_id,
    changed_areas,
    datastore_get,
    disks,
    remove,
    set_cbt,
    snapshot,
)

pytestmark = pytest.mark.lab
MIB = 1 << 20
CHANGE_ID = re.compile(r"^52( [0-9a-f]{2}){7}-[0-9a-f]{2}( [0-9a-f]{2}){7}/\d+$")


def _query(vm: Any, snap: Any, since: str, key: int = 2000, offset: int = 0) -> Any:
    return vm.QueryChangedDiskAreas(snapshot=snap, deviceKey=key, startOffset=offset,
                                    changeId=since)


def test_cbt_starts_at_the_next_stun_and_reports_exactly_the_written_areas(
    vc: Vcsim, session: Session,
) -> None:
    cap = 64 * MIB
    moref, vm = make_vm(vc, session, Disk(capacity_bytes=cap, data=((0, b"boot" * 1024),)))
    assert session.properties(vm, "config.changeTrackingEnabled")[
        "config.changeTrackingEnabled"] is False
    first = snapshot(session, vm, "before-cbt")
    with pytest.raises(vim.fault.FileFault):  # CBT off: no change ids, queries refused
        _query(vm, first, "*")
    remove(session, first)

    set_cbt(session, vm, True)
    assert session.properties(vm, "config.changeTrackingEnabled")[
        "config.changeTrackingEnabled"] is True
    assert change_id(session, vm) is None  # not yet: no stun/unstun cycle since

    remove(session, snapshot(session, vm, "cycle"))  # the cycle that starts tracking
    base_id = change_id(session, vm)
    assert base_id and CHANGE_ID.match(base_id), base_id

    writes = [(5 * MIB + 100, 10), (5 * MIB + BLOCK - 1, 2),  # straddles two blocks
              (7 * MIB, 3 * BLOCK), (7 * MIB + 3 * BLOCK, 1),  # adjacent: one area
              (cap - 7, 7)]  # the last bytes
    ids = [vc.guest_write(moref, 2000, off, b"\xab" * n) for off, n in writes]
    seqs = [int(i.rsplit("/", 1)[1]) for i in ids]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)  # advances with each write
    assert {i.rsplit("/", 1)[0] for i in ids} == {base_id.rsplit("/", 1)[0]}

    snap = snapshot(session, vm, "sync-1")
    assert change_id(session, snap) == ids[-1] == change_id(session, vm)
    areas, _ = changed_areas(session, vm, snap, 2000, base_id, cap)
    assert areas == block_runs(writes, cap)
    assert areas == [(5 * MIB, 2 * BLOCK), (7 * MIB, 4 * BLOCK), (cap - BLOCK, BLOCK)]

    # writes after the snapshot belong to the next one, not to this one
    vc.guest_write(moref, 2000, 20 * MIB, b"x")
    assert changed_areas(session, vm, snap, 2000, base_id, cap)[0] == areas
    later = snapshot(session, vm, "sync-2")
    assert changed_areas(session, vm, later, 2000, change_id(session, snap), cap)[0] == [
        (20 * MIB, BLOCK)]
    remove(session, snap)
    remove(session, later)


def test_star_returns_only_the_allocated_areas_of_a_thin_disk(vc: Vcsim, session: Session) -> None:
    cap = 32 * MIB
    data = ((0, b"a" * 512), (3 * MIB, b"b" * (BLOCK + 1)), (30 * MIB + 5, b"c"))
    _, vm = make_vm(vc, session, Disk(capacity_bytes=cap, data=data),
                    Disk(capacity_bytes=4 * MIB, thin=False))
    set_cbt(session, vm, True)
    snap = snapshot(session, vm, "full")
    areas, _ = changed_areas(session, vm, snap, 2000, "*", cap)
    assert areas == block_runs([(o, len(b)) for o, b in data], cap)
    assert sum(n for _, n in areas) == 4 * BLOCK  # of 32 MiB
    # a thick (eager) disk is allocated everywhere
    assert changed_areas(session, vm, snap, 2001, "*", 4 * MIB)[0] == [(0, 4 * MIB)]
    remove(session, snap)


def test_a_reset_or_unknown_change_id_is_a_file_fault(vc: Vcsim, session: Session) -> None:
    _, vm = make_vm(vc, session, Disk(capacity_bytes=8 * MIB))
    set_cbt(session, vm, True)
    remove(session, snapshot(session, vm, "on"))
    old = change_id(session, vm)
    assert old

    set_cbt(session, vm, False)
    remove(session, snapshot(session, vm, "off"))
    assert change_id(session, vm) is None
    set_cbt(session, vm, True)
    snap = snapshot(session, vm, "on-again")
    new = change_id(session, snap)
    assert new and new.split("/")[0] != old.split("/")[0]  # a new tracking id

    with pytest.raises(vim.fault.FileFault) as err:
        _query(vm, snap, old)
    assert err.value.file.endswith(".vmdk")
    for bogus in ("52 00 00 00 00 00 00 00-00 00 00 00 00 00 00 00/1", "garbage",
                  new.split("/")[0] + "/999"):
        with pytest.raises(vim.fault.FileFault):
            _query(vm, snap, bogus)
    assert _query(vm, snap, new).changedArea == []  # nothing since its own id
    with pytest.raises(vmodl.fault.InvalidArgument):
        _query(vm, snap, new, key=4000)  # the NIC is not a disk
    with pytest.raises(vim.fault.InvalidPowerState):
        _query(vm, None, new)  # the "current" state only for a powered-off VM
    remove(session, snap)


def test_a_powered_off_vm_tracks_from_its_reconfiguration(vc: Vcsim, session: Session) -> None:
    cap = 4 * MIB
    _, vm = make_vm(vc, session, Disk(capacity_bytes=cap, data=((MIB, b"d"),)), power_on=False)
    set_cbt(session, vm, True)  # no stun needed: the disks are closed
    since = change_id(session, vm)
    assert since and CHANGE_ID.match(since)
    # the "current" state (no snapshot) may be queried on a powered-off VM
    assert changed_areas(session, vm, None, 2000, "*", cap)[0] == [(MIB, BLOCK)]
    assert changed_areas(session, vm, None, 2000, since, cap)[0] == []


def test_answers_are_paged_by_start_offset_and_length() -> None:

    with Vcsim(vms_per_pool=0, cbt_page_areas=3) as vc:
        s = Session(resolve(vc.settings(), {}))
        try:
            cap = 16 * MIB
            moref, vm = make_vm(vc, s, Disk(capacity_bytes=cap))
            set_cbt(s, vm, True)
            remove(s, snapshot(s, vm, "on"))
            since = change_id(s, vm)
            writes = [(k * 2 * BLOCK, 10) for k in range(8)]  # 8 separate areas
            for off, n in writes:
                vc.guest_write(moref, 2000, off, b"z" * n)
            snap = snapshot(s, vm, "paged")
            first = _query(vm, snap, since)
            assert len(first.changedArea) == 3 and first.length == 5 * BLOCK < cap
            areas, calls = changed_areas(s, vm, snap, 2000, since, cap)
            assert calls == 3 and areas == block_runs(writes, cap)
        finally:
            s.close()


def test_writes_during_a_snapshot_leave_the_base_disk_as_it_was(
    vc: Vcsim, session: Session,
) -> None:
    cap = 8 * MIB
    moref, vm = make_vm(vc, session, Disk(capacity_bytes=cap))
    name = session.properties(vm, "name")["name"]
    path = f"{name}/{name}_0-flat.vmdk"
    vc.guest_write(moref, 2000, 0, b"before" * 100)  # no snapshot: the base disk itself
    before = datastore_get(vc, session, path).content
    assert before[:6] == b"before"

    snap = snapshot(session, vm, "freeze")
    vc.guest_write(moref, 2000, 0, b"AFTER!")
    vc.guest_write(moref, 2000, 5 * MIB, b"later" * 30000)
    assert datastore_get(vc, session, path).content == before  # frozen at the snapshot
    ranged = session.http().get(
        f"https://{vc.host}/folder/{path}?dcPath={vc.datacenter}&dsName=LocalDS_0",
        headers={"Range": f"bytes={5 * MIB}-{5 * MIB + 9}"},
        cookies={"vmware_soap_session": session.cookie()}, timeout=30)
    assert ranged.status_code == 206 and ranged.content == bytes(10)

    remove(session, snap)  # the delta is merged into the base disk
    merged = datastore_get(vc, session, path).content
    assert merged[:12] == b"AFTER!before"[:12] and merged[5 * MIB:5 * MIB + 5] == b"later"
    assert len(merged) == cap


def test_removing_the_older_snapshot_leaves_the_base_disk_at_the_newer_one(
    vc: Vcsim, session: Session,
) -> None:
    """The warm-sync cycle: take S2, remove S1, read S1..S2's changes from the base disk."""
    cap = 4 * MIB
    moref, vm = make_vm(vc, session, Disk(capacity_bytes=cap))
    name = session.properties(vm, "name")["name"]
    path = f"{name}/{name}_0-flat.vmdk"
    set_cbt(session, vm, True)
    s1 = snapshot(session, vm, "s1")
    since = change_id(session, s1)
    vc.guest_write(moref, 2000, MIB, b"one")
    s2 = snapshot(session, vm, "s2")
    vc.guest_write(moref, 2000, 2 * MIB, b"two")  # after S2: stays out of the base disk
    assert datastore_get(vc, session, path).content[MIB:MIB + 3] == bytes(3)  # still S1
    remove(session, s1)
    base = datastore_get(vc, session, path).content
    assert base[MIB:MIB + 3] == b"one" and base[2 * MIB:2 * MIB + 3] == bytes(3)
    assert changed_areas(session, vm, s2, 2000, since, cap)[0] == [(MIB, BLOCK)]
    remove(session, s2)
    assert datastore_get(vc, session, path).content[2 * MIB:2 * MIB + 3] == b"two"


def test_a_write_never_reaches_the_file_the_scenario_linked_from(
    vc: Vcsim, session: Session, tmp_path: Path,
) -> None:
    src = tmp_path / "guest-flat.vmdk"
    src.write_bytes(b"G" * MIB)
    (tmp_path / "guest.vmdk").write_text(
        '# Disk DescriptorFile\nversion=1\ncreateType="monolithicFlat"\n'
        'RW 2048 FLAT "guest-flat.vmdk" 0\n')
    moref, _ = make_vm(vc, session, Disk(vmdk=tmp_path / "guest.vmdk"))
    vc.guest_write(moref, 2000, 0, b"W" * 4096)
    assert src.read_bytes() == b"G" * MIB  # the cached guest image stays intact


def test_guest_writes_need_a_running_vm_and_stay_inside_the_disk(
    vc: Vcsim, session: Session,
) -> None:
    from tests.lab.vcsim import VcsimError

    moref, _ = make_vm(vc, session, Disk(capacity_bytes=MIB), power_on=False)
    with pytest.raises(VcsimError, match="only a running guest writes"):
        vc.guest_write(moref, 2000, 0, b"x")
    moref, _ = make_vm(vc, session, Disk(capacity_bytes=MIB))
    with pytest.raises(VcsimError, match="outside the disk"):
        vc.guest_write(moref, 2000, MIB - 1, b"xy")
    with pytest.raises(VcsimError, match="no disk with key"):
        vc.guest_write(moref, 2999, 0, b"x")


def test_opt_in_redo_log_names_follow_esxi() -> None:
    """With ``delta_names`` a VM with snapshots names its running redo log, as ESXi does."""
    with Vcsim(vms_per_pool=0, delta_names=True) as vc:
        s = Session(resolve(vc.settings(), {}))
        try:
            moref, vm = make_vm(vc, s, Disk(capacity_bytes=MIB))
            name = s.properties(vm, "name")["name"]
            base = f"[LocalDS_0] {name}/{name}_0.vmdk"
            set_cbt(s, vm, True)
            s1 = snapshot(s, vm, "s1")
            (disk,) = disks(s, vm)
            assert disk.backing.fileName == f"[LocalDS_0] {name}/{name}_0-000001.vmdk"
            assert disk.backing.parent.fileName == base
            assert [d.backing.fileName for d in disks(s, s1)] == [base]
            desc = datastore_get(vc, s, f"{name}/{name}_0-000001.vmdk").text
            assert 'createType="seSparse"' in desc and f'parentFileNameHint="{name}_0.vmdk"' in desc
            s2 = snapshot(s, vm, "s2")
            (disk,) = disks(s, vm)
            assert disk.backing.fileName.endswith("_0-000002.vmdk")
            assert disk.backing.parent.fileName.endswith("_0-000001.vmdk")
            assert disk.backing.parent.parent.fileName == base
            assert vc.guest_write(moref, 2000, 0, b"x") == change_id(s, vm)  # published there
            remove(s, s1)
            remove(s, s2)
            (disk,) = disks(s, vm)
            assert disk.backing.fileName == base and disk.backing.parent is None
            assert disk.backing.changeId == change_id(s, vm) and disk.backing.changeId
            assert datastore_get(vc, s, f"{name}/{name}_0-000001.vmdk").status_code == 404
        finally:
            s.close()
