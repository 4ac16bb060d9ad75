"""The run report: per-migration stages with durations, bytes and throughput, guest
changes and validation notes, as Markdown, HTML and JSON under the work dir."""

from __future__ import annotations

import json
import stat
from pathlib import Path

from v2s_test.provider import TestProvider

from vmware2scw.diagnostics import Diagnostic, Severity
from vmware2scw.plan.action import Action, Reason
from vmware2scw.plan.model import Plan, ResourceChange
from vmware2scw.report import build_report, render_html, render_markdown, write_report
from vmware2scw.state.model import ResourceState, State, Status
from vmware2scw.walker import WalkResult
from vmware2scw.walker.model import Outcome

TYPES = TestProvider().resource_types()  # the real providers' schemas name the stages
M = "migration.web-01"
MIB = 2**20
CHAIN = [
    ("vmware_snapshot", f"{M}.vmware_snapshot", 1.0, 0),
    ("disk_export", f"{M}.disk_export[0]", 20.0, 400 * MIB),
    ("qcow2_artifact", f"{M}.qcow2_artifact[0]", 100.0, 0),
    ("s3_object", f"{M}.s3_object[0]", 10.0, 300 * MIB),
    ("scw_snapshot", f"{M}.scw_snapshot[0]", 8.0, 0),
    ("scw_image", f"{M}.scw_image", 2.0, 0),
    ("scw_server", f"{M}.scw_server", 50.0, 0),
]


def _fixture(fail_server: bool = False) -> tuple[WalkResult, Plan, State]:
    changes = tuple(ResourceChange(address=a, type=t, provider="p", action=Action.CREATE,
                                   reason=Reason.NEW, migration="web-01",
                                   depends_on=(CHAIN[i - 1][1],) if i else ())
                    for i, (t, a, _, _) in enumerate(CHAIN))
    diag = Diagnostic(severity=Severity.WARNING, summary="VMware tools <running>",
                      detail="they will be removed", address=f"{M}.vmware_snapshot")
    plan = Plan(lineage="lin-1", serial=3, changes=changes,
                diagnostics=(diag, Diagnostic(severity=Severity.INFO, summary="general")))
    outcomes = [Outcome(address=a, operation="apply", action="create",
                        status="failed" if fail_server and t == "scw_server" else "ok",
                        seconds=s, attempts=1, bytes=b,
                        message="port 22 never answered" if fail_server else "")
                for t, a, s, b in CHAIN]
    outcomes.append(Outcome(address=f"{M}.disk_export[0]", operation="cleanup",
                            action="delete", status="ok", seconds=0.5))
    resources = {
        f"{M}.qcow2_artifact[0]": ResourceState(
            address=f"{M}.qcow2_artifact[0]", type="qcow2_artifact", provider="qemu",
            migration="web-01", status=Status.TRANSIENT_DONE,
            attributes={"size": 250 * MIB, "changes": ["MBR -> GPT, EFI System Partition added",
                                                        "open-vm-tools removed"]}),
        f"{M}.scw_server": ResourceState(
            address=f"{M}.scw_server", type="scw_server", provider="scaleway",
            migration="web-01", attributes={"id": "srv-1", "name": "web-server-01",
                                            "public_ip_address": "51.15.0.1",
                                            "verify_tcp": [22]}),
    }
    state = State(lineage="lin-1", serial=9, resources=resources)
    res = WalkResult(outcomes=tuple(outcomes), seconds=191.5)
    return res, plan, state


def test_report_has_stages_bytes_throughput_changes_and_notes() -> None:
    res, plan, state = _fixture()
    rep = build_report(res, plan, state, "apply", types=TYPES)
    (mig,) = rep.migrations
    stages = [r.stage for r in mig.rows if r.operation == "apply"]
    assert stages == ["snapshot", "export", "convert", "upload", "import", "image", "server"]
    export = next(r for r in mig.rows if r.stage == "export")
    assert export.throughput == 20 * MIB  # 400 MiB in 20 s
    convert = next(r for r in mig.rows if r.stage == "convert")
    assert convert.bytes == 250 * MIB  # taken from the artifact's size when no progress bytes
    assert rep.bytes_moved == (400 + 250 + 300) * MIB
    md = render_markdown(rep)
    assert "| export | `migration.web-01.disk_export[0]` | apply | ok | 20.0 s | 400.0 MiB |" \
        " 20.0 MiB/s |" in md
    assert "- open-vm-tools removed" in md
    assert "warning: VMware tools <running> (they will be removed)" in md
    assert "- info: general" in md
    assert "public_ip_address `51.15.0.1`" in md


def test_html_escapes_and_marks_failures() -> None:
    res, plan, state = _fixture(fail_server=True)
    rep = build_report(res, plan, state, "apply", types=TYPES)
    assert not rep.ok and not rep.migrations[0].ok
    page = render_html(rep)
    assert "VMware tools &lt;running&gt;" in page and "<running>" not in page
    assert "<tr class='failed'><td>server</td>" in page
    assert "port 22 never answered" in render_markdown(rep)


def test_write_report_files(tmp_path: Path) -> None:
    res, plan, state = _fixture()
    md = write_report(res, plan, state, tmp_path / ".v2s", started=1_700_000_000.0,
                      types=TYPES)
    assert md.name == "apply-20231114T221320.md"
    folder = md.parent
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert md.with_suffix(".html").read_text().startswith("<!DOCTYPE html>")
    data = json.loads(md.with_suffix(".json").read_text())
    assert data["bytes_moved"] == (400 + 250 + 300) * MIB
    assert data["migrations"][0]["guest_changes"][1] == "open-vm-tools removed"
