"""Export refusals and limits: unknown files, sparse VMDKs, concurrency slots, insecure mode."""

from __future__ import annotations

import subprocess
import threading
from pathlib import Path

import pytest
from v2s_vmware.export import LIMITS, Limits, ranges_to_set, set_to_ranges
from v2s_vmware.provider import VMwareProvider

from tests.lab.vcsim import Vcsim
from tests.vmware.conftest import FakeContext
from vmware2scw.diagnostics import Severity
from vmware2scw.errors import ProviderError
from vmware2scw.provider import ApplyRequest, ConfigureRequest, InventoryRequest

MiB = 1 << 20


def _export(provider: VMwareProvider, disk_file: str, tmp: Path, size: int = MiB) -> dict:
    addr = "migration.x.disk_export[0]"
    planned = {"vm": "x", "disk_key": 1, "disk_index": 0, "disk_file": disk_file,
               "datastore": "LocalDS_0", "capacity_bytes": size, "snapshot": None}
    return provider.apply(ApplyRequest(address=addr, type="disk_export", prior=None,
                                       planned=planned), FakeContext(addr, tmp)).attributes


@pytest.mark.lab
def test_missing_and_sparse_disks_are_refused(vc: Vcsim, provider: VMwareProvider,
                                              tmp_path: Path) -> None:
    with pytest.raises(ProviderError, match="not found"):
        _export(provider, "[LocalDS_0] nowhere/none.vmdk", tmp_path)
    folder = vc.datastore_dir() / "sparse"
    folder.mkdir()
    raw = tmp_path / "d.raw"
    raw.write_bytes(b"x" * MiB)
    subprocess.run(["qemu-img", "convert", "-f", "raw", "-O", "vmdk", str(raw),
                    str(folder / "sparse.vmdk")], check=True, capture_output=True)
    with pytest.raises(ProviderError, match="extents SPARSE cannot be read"):
        _export(provider, "[LocalDS_0] sparse/sparse.vmdk", tmp_path)
    (folder / "junk.vmdk").write_bytes(bytes(range(256)) * 4)
    with pytest.raises(ProviderError, match="not a VMDK descriptor"):
        _export(provider, "[LocalDS_0] sparse/junk.vmdk", tmp_path)
    (folder / "two.vmdk").write_text('# Disk DescriptorFile\nRW 2048 FLAT "a-flat.vmdk" 0\n'
                                     'RW 2048 FLAT "b-flat.vmdk" 0\n')
    with pytest.raises(ProviderError, match="extents FLAT, FLAT"):
        _export(provider, "[LocalDS_0] sparse/two.vmdk", tmp_path)
    with pytest.raises(ProviderError, match="not a datastore path"):
        _export(provider, "sparse/two.vmdk", tmp_path)


@pytest.mark.lab
def test_insecure_mode_connects_and_warns(vc: Vcsim, tmp_path: Path) -> None:
    p = VMwareProvider(environ={"GOVC_INSECURE": "true"})
    settings = {"url": vc.url, "username": vc.username, "password": vc.password}
    resp = p.configure(ConfigureRequest(settings=settings, lineage="l", work_dir=tmp_path))
    assert [d.severity for d in resp.diagnostics] == [Severity.WARNING]
    assert p.inventory(InventoryRequest()).vms
    p.close()
    strict = VMwareProvider(environ={})
    resp = strict.configure(ConfigureRequest(settings=vc.settings(), lineage="l",
                                             work_dir=tmp_path))
    assert resp.diagnostics == () and strict.settings.insecure is False


def test_export_slots_bound_concurrency_per_datastore() -> None:
    limits = Limits()
    active, peak, lock = [0], [0], threading.Lock()
    pair = threading.Barrier(2, timeout=10)  # two jobs must be inside at the same time

    def job(host: str) -> None:
        with limits.slots(host, 4, "ds1", 2):
            with lock:
                active[0] += 1
                peak[0] = max(peak[0], active[0])
            pair.wait()
            with lock:
                active[0] -= 1

    threads = [threading.Thread(target=job, args=(f"h{i % 3}",)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert peak[0] == 2 and not pair.broken
    assert isinstance(LIMITS, Limits)


def test_checkpoint_ranges_round_trip() -> None:
    done = {0, 1, 2, 5, 7, 8}
    assert set_to_ranges(done) == [[0, 3], [5, 6], [7, 9]]
    assert ranges_to_set(set_to_ranges(done)) == done
