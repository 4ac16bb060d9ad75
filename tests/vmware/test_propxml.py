"""The fast PropertyCollector reader gives exactly the facts pyVmomi's deserialiser gives."""

from __future__ import annotations

import pytest
from v2s_vmware import inventory as inv
from v2s_vmware import propxml
from v2s_vmware.session import Session
from v2s_vmware.settings import resolve

from tests.lab.scenario import VM, Disk, Nic, load
from tests.lab.vcsim import Vcsim
from tests.vmware.test_vmware_inventory import REFUSED

pytestmark = pytest.mark.lab


def test_inventory_read_fast_equals_inventory_read_by_pyvmomi(
        vc: Vcsim, monkeypatch: pytest.MonkeyPatch) -> None:
    extra = [VM("x-multi", firmware="efi", disks=(Disk(), Disk(capacity_bytes=2 << 20)),
                nics=(Nic(), Nic(adapter="e1000e"))),
             VM("x-snaps", snapshots=("one", "two"), power_on=False)]
    load(vc, [spec for spec, _, _ in REFUSED] + extra)
    s = Session(resolve(vc.settings(), {}))
    try:
        _ = s.content  # log in first
        before = s.soap_calls
        fast = inv.inventory(s)
        assert s.soap_calls - before == 3  # view, one retrieval, DestroyView
        monkeypatch.setattr(propxml, "retrieve", lambda sess, objs, props: sess.retrieve(
            objs, props))
        slow = inv.inventory(s)
    finally:
        s.close()
    assert fast == slow
    by_name = {vm.name: vm for vm in fast}
    assert by_name["x-snaps"].snapshots == ("one", "two")  # a nested snapshot tree
    assert [n.adapter for n in by_name["x-multi"].nics] == ["vmxnet3", "e1000e"]
    assert {f for vm in fast for f in vm.features} >= {"vtpm", "vgpu", "pci_passthrough",
                                                        "encrypted"}
    assert any(d.rdm for vm in fast for d in vm.disks)
