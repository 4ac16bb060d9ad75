"""The scenario loader places real VMDKs (flat or streamOptimized) that export byte-identical."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import pytest
from v2s_vmware.provider import VMwareProvider

from tests.lab.scenario import VM, Disk, load, safe_dir
from tests.lab.vcsim import Vcsim
from tests.vmware.conftest import FakeContext
from vmware2scw.provider import ApplyRequest, InventoryRequest

pytestmark = pytest.mark.lab
MiB = 1 << 20


def _raw(path: Path) -> bytes:
    data = bytearray(6 * MiB)
    data[0:512] = hashlib.sha256(b"mbr").digest() * 16
    data[3 * MiB : 3 * MiB + 4096] = hashlib.sha256(b"fs").digest() * 128
    path.write_bytes(bytes(data))
    return bytes(data)


@pytest.mark.parametrize("subformat", ["monolithicFlat", "streamOptimized"])
def test_real_vmdk_is_placed_and_exports_identical(vc: Vcsim, provider: VMwareProvider,
                                                   tmp_path: Path, subformat: str) -> None:
    raw = _raw(tmp_path / "guest.raw")
    vmdk = tmp_path / "guest.vmdk"
    subprocess.run(["qemu-img", "convert", "-f", "raw", "-O", "vmdk", "-o",
                    f"subformat={subformat}", str(tmp_path / "guest.raw"), str(vmdk)],
                   check=True, capture_output=True)
    name = f"guest-{subformat}"
    load(vc, [VM(name, disks=(Disk(vmdk=vmdk),), guest_id="debian12_64Guest")])
    (vm,) = provider.inventory(InventoryRequest(patterns=(name,))).vms
    d = vm.disks[0]
    assert d.capacity_bytes == len(raw)
    addr = f"migration.{name}.disk_export[0]"
    planned = {"vm": name, "disk_key": d.key, "disk_index": 0, "disk_file": d.file,
               "datastore": d.datastore, "capacity_bytes": d.capacity_bytes, "snapshot": None}
    out = provider.apply(ApplyRequest(address=addr, type="disk_export", prior=None,
                                      planned=planned), FakeContext(addr, tmp_path)).attributes
    assert Path(out["path"]).read_bytes() == raw
    assert out["allocated_bytes"] < len(raw) // 2


def test_vcenter_names_are_sanitised_before_they_become_paths() -> None:
    assert safe_dir("../../etc/passwd") == "etc_passwd"
    assert safe_dir("web 01/ü") == "web_01"
    assert "/" not in safe_dir("a/b") and safe_dir("..") == "vm"
