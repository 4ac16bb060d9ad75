"""The vmware provider under the real config expansion, planner and walker (vcsim + test)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from v2s_vmware._vmomi import vim

from tests.lab.scenario import VM, Disk, load
from tests.lab.vcsim import Vcsim
from tests.walker.helpers import MemoryStateManager
from vmware2scw.config import expand
from vmware2scw.config import load as load_config
from vmware2scw.config.expand import provider_blocks
from vmware2scw.desired import Desired
from vmware2scw.diagnostics import Severity
from vmware2scw.plan import Action, PlanOptions
from vmware2scw.plan.planner import make_plan
from vmware2scw.provider import InventoryRequest, InventoryResponse
from vmware2scw.refresh import refresh
from vmware2scw.registry import load_providers
from vmware2scw.state.model import State, Status
from vmware2scw.walker import WalkOptions, walk

pytestmark = pytest.mark.lab
LINEAGE = "7a1e5c3d-0000-4000-8000-000000000001"
MiB = 1 << 20

CONFIG = """\
v2s: 1
providers:
  vmware: {{url: "{url}", username: "{user}", password: "{password}", ca_file: "{ca}",
           chunk_mb: 1, parallel_chunks: 2}}
  qemu: {{source: test, store: "{store}"}}
  scaleway: {{source: test, store: "{store}", transit_bucket: v2s-transit}}
migrations:
  eng:
    source: {{vm: "eng-*"}}
    target: {{type: PRO2-S, zone: fr-par-1, drop_unmapped_nics: true}}
"""


@contextlib.contextmanager
def engine(vc: Vcsim, tmp_path: Path, edit: Callable[[str], str] = lambda t: t
           ) -> Iterator[tuple[dict[str, Any], Desired, MemoryStateManager, WalkOptions]]:
    """Config -> providers -> expansion, an empty in-memory state and walk options."""
    cfg = tmp_path / "v2s.yaml"
    cfg.write_text(edit(CONFIG.format(url=vc.url, user=vc.username, password=vc.password,
                                      ca=vc.cert_file, store=tmp_path / "cloud.json")))
    loaded = load_config(cfg, environ={})
    provs = load_providers(provider_blocks(loaded), LINEAGE, tmp_path / "work")
    try:
        def inventory(name: str, patterns: tuple[str, ...]) -> InventoryResponse:
            return provs[name].inventory(InventoryRequest(patterns=patterns))

        desired, _ = expand(loaded, lineage=LINEAGE, inventory=inventory)
        opts = WalkOptions(work_dir=tmp_path / "work", desired=desired, handle_sigint=False,
                           backoff_base=0.01, backoff_cap=0.05, max_attempts=1)
        yield provs, desired, MemoryStateManager(State(lineage=LINEAGE)), opts
    finally:
        for p in provs.values():
            p.close()


def test_plan_apply_noop_destroy_through_the_engine(vc: Vcsim, tmp_path: Path) -> None:
    data = ((0, b"boot" * 128), (3 * MiB, b"data" * 1024))
    load(vc, [VM("eng-a", disks=(Disk(capacity_bytes=4 * MiB, data=data),
                                 Disk(capacity_bytes=2 * MiB))),
              VM("eng-b", disks=(Disk(capacity_bytes=3 * MiB, data=data[:1]),))])
    with engine(vc, tmp_path) as (provs, desired, sm, opts):
        assert set(desired.source_digests) == {"eng-a", "eng-b"}
        plan = make_plan(desired, sm.state, provs, PlanOptions())
        assert not [d for d in plan.diagnostics if d.severity is Severity.ERROR], plan.diagnostics
        assert any("converted to UEFI" in d.summary for d in plan.diagnostics)
        exports = [c for c in plan.changes if c.type == "disk_export"]
        assert len(exports) == 3 and all(c.action is Action.CREATE for c in exports)

        result = walk(plan, sm, provs, opts)
        assert result.ok, [(o.address, o.status) for o in result.outcomes]
        recs = sm.state.resources
        a0 = recs["migration.eng[\"eng-a\"].disk_export[0]"]
        assert a0.status is Status.TRANSIENT_DONE and a0.attributes["size"] == 4 * MiB
        assert not Path(a0.attributes["path"]).exists()  # cleaned up after the chain
        vms = provs["vmware"].inventory(InventoryRequest(patterns=("eng-*",))).vms
        assert [v.snapshots for v in vms] == [(), ()]  # the v2s snapshots are gone

        refreshed, diags = refresh(sm.state, provs)
        assert not [d for d in diags if d.severity is Severity.ERROR], diags
        again = make_plan(desired, refreshed, provs, PlanOptions())
        assert [c.address for c in again.changes if c.action is not Action.NOOP] == []

        gone = make_plan(desired, refreshed, provs, PlanOptions(destroy=True))
        result = walk(gone, sm, provs, opts)
        assert result.ok, [(o.address, o.status) for o in result.outcomes]
        assert sm.state.resources == {}


def test_destroy_after_a_failed_apply_removes_the_leftover_snapshot_only(
        vc: Vcsim, tmp_path: Path) -> None:
    loaded_vms = load(vc, [VM("eng-fail", disks=(Disk(capacity_bytes=MiB),))])

    def edit(text: str) -> str:
        text = text.replace('qemu: {source: test,', 'qemu: {source: test, fail: ["*qcow2*"],')
        return text.replace('"eng-*"', '"eng-fail"')

    with engine(vc, tmp_path, edit) as (provs, desired, sm, opts):
        plan = make_plan(desired, sm.state, provs, PlanOptions())
        result = walk(plan, sm, provs, opts)
        assert not result.ok
        snap = sm.state.resources["migration.eng.vmware_snapshot"]  # one VM: no key
        assert snap.status is Status.CREATED
        # the user takes a snapshot of their own meanwhile
        vmw = provs["vmware"]
        vm_ref = vim.VirtualMachine(loaded_vms.morefs["eng-fail"], vmw.session.stub)
        vmw.session.wait_task(vm_ref.CreateSnapshot_Task(
            name="users-own", description="", memory=False, quiesce=False), what="snapshot")
        snaps = vmw.inventory(InventoryRequest(patterns=("eng-fail",))).vms[0].snapshots
        assert sorted(snaps) == sorted(["users-own", snap.attributes["name"]])  # + leftover

        refreshed, _ = refresh(sm.state, provs)
        gone = make_plan(desired, refreshed, provs, PlanOptions(destroy=True))
        result = walk(gone, sm, provs, opts)
        assert result.ok, [(o.address, o.status) for o in result.outcomes]
        vm = provs["vmware"].inventory(InventoryRequest(patterns=("eng-fail",))).vms[0]
        assert vm.snapshots == ("users-own",) and len(vm.disks) == 1
        assert not list((tmp_path / "work").rglob("disk0.raw"))  # the export file went too


def test_cold_cutover_apply_then_destroy_powers_the_source_back_on(
        vc: Vcsim, tmp_path: Path) -> None:
    load(vc, [VM("eng-cold", disks=(Disk(capacity_bytes=MiB),))])

    def edit(text: str) -> str:
        text = text.replace('"eng-*"', '"eng-cold"')
        return text + "    cutover: {power_off_source: true}\n"

    def power() -> str:
        vms = provs["vmware"].inventory(InventoryRequest(patterns=("eng-cold",))).vms
        return vms[0].power_state

    with engine(vc, tmp_path, edit) as (provs, desired, sm, opts):
        assert power() == "poweredOn"
        result = walk(make_plan(desired, sm.state, provs, PlanOptions()), sm, provs, opts)
        assert result.ok, [(o.address, o.status) for o in result.outcomes]
        snap = sm.state.resources["migration.eng.vmware_snapshot"]
        assert snap.status is Status.TRANSIENT_DONE  # cleaned up: a tombstone
        assert power() == "poweredOff"  # the cutover keeps the source off after apply

        refreshed, _ = refresh(sm.state, provs)
        gone = make_plan(desired, refreshed, provs, PlanOptions(destroy=True))
        result = walk(gone, sm, provs, opts)
        assert result.ok, [(o.address, o.status) for o in result.outcomes]
        assert sm.state.resources == {}
        assert power() == "poweredOn"  # as it was before the migration
