"""NFC export from the lab's vcsim, against the vSphere API reference.

Follows: vSphere Web Services API, VirtualMachine.ExportVm (InvalidPowerState unless
powered off), VirtualMachineSnapshot.ExportSnapshot, HttpNfcLease (state initializing ->
ready -> done | error), HttpNfcLeaseInfo (deviceUrl, leaseTimeout), HttpNfcLeaseProgress
("renews this lease"), HttpNfcLeaseComplete, HttpNfcLeaseAbort; the disks are served as
streamOptimized VMDKs (VMware Virtual Disk Format 5.0), which is what ESXi's export serves.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from v2s_vmware._vmomi import vim, vmodl
from v2s_vmware.session import Session
from v2s_vmware.settings import resolve

from tests.lab.scenario import Disk
from tests.lab.vcsim import VSAN_DATASTORE, Vcsim
from tests.vcsim.conftest import make_vm
from tests.vcsim.vsphere import (
    BLOCK,
    change_id,
    changed_areas,
    datastore_get,
    power,
    set_cbt,
    snapshot,
    wait_lease,
)

pytestmark = pytest.mark.lab
MIB = 1 << 20


def _download(vc: Vcsim, session: Session, lease: Any, tmp_path: Path) -> list[bytes]:
    """Every disk of a ready lease, as raw bytes (streamOptimized decoded by qemu-img)."""
    info = session.properties(lease, "info")["info"]
    out = []
    for k, dev in enumerate(info.deviceUrl):
        assert dev.disk and dev.url.startswith("https://*/nfc/")
        r = session.http().get(dev.url.replace("*", vc.host), timeout=60)
        assert r.status_code == 200, r.text
        vmdk, raw = tmp_path / f"{k}.vmdk", tmp_path / f"{k}.raw"
        vmdk.write_bytes(r.content)
        desc = r.content[512:1024]
        assert r.content[:4] == b"KDMV" and b'createType="streamOptimized"' in desc
        subprocess.run(["qemu-img", "convert", "-f", "vmdk", "-O", "raw", str(vmdk), str(raw)],
                       check=True, timeout=60)
        out.append(raw.read_bytes())
    return out


def test_export_snapshot_of_a_running_vm_streams_the_snapshot(
    vc: Vcsim, session: Session, tmp_path: Path,
) -> None:
    cap = 24 * MIB
    moref, vm = make_vm(vc, session, Disk(capacity_bytes=cap, data=((0, b"mbr" * 100),)),
                        Disk(capacity_bytes=2 * MIB, data=((MIB, b"second"),)))
    vc.guest_write(moref, 2000, 9 * MIB, b"kept" * 5000)
    snap = snapshot(session, vm, "export")
    expected = bytearray(cap)
    expected[0:300] = b"mbr" * 100
    expected[9 * MIB:9 * MIB + 20000] = b"kept" * 5000
    vc.guest_write(moref, 2000, 9 * MIB, b"NEW!")  # after the snapshot: not exported
    vc.guest_write(moref, 2000, 20 * MIB, b"new" * 1000)

    lease = session.call(lambda _c: snap.ExportSnapshot())
    assert wait_lease(session, lease, "ready", "error") == "ready"
    info = session.properties(lease, "info")["info"]
    assert info.entity._moId == moref and info.leaseTimeout == 300
    assert info.totalDiskCapacityInKB == (cap + 2 * MIB) // 1024
    assert [d.key for d in info.deviceUrl] == [f"/{moref}/ParaVirtualSCSIController0:0",
                                               f"/{moref}/ParaVirtualSCSIController0:1"]
    first, second = _download(vc, session, lease, tmp_path)
    assert first == bytes(expected)
    assert second[MIB:MIB + 6] == b"second" and len(second) == 2 * MIB

    session.call(lambda _c: lease.HttpNfcLeaseProgress(percent=100))
    session.call(lambda _c: lease.HttpNfcLeaseComplete())
    assert session.properties(lease, "state")["state"] == "done"
    url = info.deviceUrl[0].url.replace("*", vc.host)
    assert session.http().get(url, timeout=10).status_code == 404  # the lease is over
    with pytest.raises(vim.fault.InvalidState):
        session.call(lambda _c: lease.HttpNfcLeaseProgress(percent=100))


def test_export_vm_needs_a_powered_off_vm(vc: Vcsim, session: Session, tmp_path: Path) -> None:
    moref, vm = make_vm(vc, session, Disk(capacity_bytes=4 * MIB))
    with pytest.raises(vim.fault.InvalidPowerState):
        session.call(lambda _c: vm.ExportVm())
    vc.guest_write(moref, 2000, 3 * MIB, b"last words")
    power(session, vm, False)
    lease = session.call(lambda _c: vm.ExportVm())
    assert wait_lease(session, lease, "ready", "error") == "ready"
    (disk,) = _download(vc, session, lease, tmp_path)
    assert disk[3 * MIB:3 * MIB + 10] == b"last words" and disk.count(0) == 4 * MIB - 10
    session.call(lambda _c: lease.HttpNfcLeaseAbort())
    assert session.properties(lease, "state")["state"] == "error"
    assert isinstance(session.properties(lease, "error")["error"], vmodl.fault.RequestCanceled)


def test_a_revert_to_the_latest_snapshot_drops_later_writes(
    vc: Vcsim, session: Session, tmp_path: Path,
) -> None:
    moref, vm = make_vm(vc, session, Disk(capacity_bytes=2 * MIB, data=((0, b"kept"),)))
    set_cbt(session, vm, True)
    snap = snapshot(session, vm, "good")
    since = change_id(session, snap)
    vc.guest_write(moref, 2000, 0, b"oops")
    vc.guest_write(moref, 2000, MIB, b"oops")
    task = session.call(lambda _c: snap.RevertToSnapshot_Task())
    session.wait_task(task, what="revert")
    power(session, vm, False)
    # the reverted blocks changed (twice) since the snapshot's change id
    assert changed_areas(session, vm, None, 2000, since, 2 * MIB)[0] == [(0, BLOCK), (MIB, BLOCK)]
    lease = session.call(lambda _c: vm.ExportVm())
    assert wait_lease(session, lease, "ready") == "ready"
    (disk,) = _download(vc, session, lease, tmp_path)
    assert disk[:4] == b"kept" and disk[MIB:MIB + 4] == bytes(4)
    session.call(lambda _c: lease.HttpNfcLeaseComplete())


def test_an_idle_lease_times_out_and_progress_renews_it(tmp_path: Path) -> None:

    with Vcsim(vms_per_pool=0, nfc_lease_timeout_s=2) as vc:
        s = Session(resolve(vc.settings(), {}))
        try:
            _, vm = make_vm(vc, s, Disk(capacity_bytes=MIB), power_on=False)
            kept = s.call(lambda _c: vm.ExportVm())
            idle = s.call(lambda _c: vm.ExportVm())
            assert wait_lease(s, kept, "ready") == "ready"
            assert s.properties(kept, "info")["info"].leaseTimeout == 2
            started = time.monotonic()
            while time.monotonic() - started < 3:  # renew the first lease, not the second
                s.call(lambda _c: kept.HttpNfcLeaseProgress(percent=10))
                time.sleep(0.5)
            assert wait_lease(s, idle, "error", timeout_s=5) == "error"
            assert isinstance(s.properties(idle, "error")["error"], vim.fault.Timedout)
            assert s.properties(kept, "state")["state"] == "ready"
            s.call(lambda _c: kept.HttpNfcLeaseComplete())
        finally:
            s.close()


def test_a_vsan_disk_has_no_flat_file_but_exports_through_nfc(
    vc: Vcsim, session: Session, tmp_path: Path,
) -> None:
    data = ((0, b"vsan" * 256), (3 * MIB, b"object"))
    _, vm = make_vm(vc, session, Disk(capacity_bytes=4 * MIB, data=data,
                                      datastore=VSAN_DATASTORE), power_on=False)
    ds = session.properties(vm, "datastore")["datastore"]
    kinds = {session.properties(d, "name")["name"]: session.properties(d, "summary.type")[
        "summary.type"] for d in ds}
    assert kinds.get(VSAN_DATASTORE) == "vsan"
    folder = vc.datastore_dir(VSAN_DATASTORE)
    assert not list(folder.rglob("*-flat.vmdk")) and list(folder.rglob("*.vmdk"))
    name = session.properties(vm, "name")["name"]
    desc = datastore_get(vc, session, f"{name}/{name}_0.vmdk", VSAN_DATASTORE)
    assert desc.status_code == 200 and b'VMFS "vsan://' in desc.content
    assert datastore_get(vc, session, f"{name}/{name}_0-flat.vmdk",
                         VSAN_DATASTORE).status_code == 404

    lease = session.call(lambda _c: vm.ExportVm())
    assert wait_lease(session, lease, "ready") == "ready"
    (disk,) = _download(vc, session, lease, tmp_path)
    assert disk[:1024] == b"vsan" * 256 and disk[3 * MIB:3 * MIB + 6] == b"object"
    session.call(lambda _c: lease.HttpNfcLeaseComplete())
    assert vc.vsan_objects_dir.is_relative_to(vc.work_dir)
