"""The run report written after each apply: Markdown, HTML and JSON under ``reports/``.

Per migration: each stage (named by the resource type's schema), in dependency order,
with its duration, bytes and throughput, what the conversion changed in the guest,
and the validation notes (diagnostics) of the plan and the run. Values only: the
state already holds no secrets, and sensitive attributes are never read here.
"""

from __future__ import annotations

import html
import json
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from vmware2scw.diagnostics import Diagnostic
from vmware2scw.graph import from_edges, generations
from vmware2scw.plan.model import Plan
from vmware2scw.progress import human_bytes
from vmware2scw.provider import ResourceType
from vmware2scw.state.model import State
from vmware2scw.walker import WalkResult
from vmware2scw.workdir import private_dir


class StageRow(BaseModel):
    """One resource operation of a migration."""

    model_config = ConfigDict(frozen=True)
    address: str
    stage: str
    operation: str
    status: str
    seconds: float
    bytes: int
    attempts: int
    message: str = ""
    data_path: bool = False  # the resource moves the guest's bytes (export, convert, upload)

    @property
    def throughput(self) -> float | None:
        """Bytes per second, when both are known."""
        return self.bytes / self.seconds if self.bytes and self.seconds > 0 else None


class MigrationReport(BaseModel):
    """Everything the report says about one migration."""

    model_config = ConfigDict(frozen=True)
    name: str
    rows: tuple[StageRow, ...]
    guest_changes: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    server: dict[str, Any] = {}

    @property
    def seconds(self) -> float:
        return sum(r.seconds for r in self.rows)

    @property
    def ok(self) -> bool:
        return all(r.status == "ok" for r in self.rows)


class RunReport(BaseModel):
    """One apply (or destroy) run."""

    model_config = ConfigDict(frozen=True)
    operation: str
    started: str
    seconds: float
    ok: bool
    interrupted: bool
    lineage: str
    serial: int
    migrations: tuple[MigrationReport, ...]
    notes: tuple[str, ...] = ()

    @property
    def bytes_moved(self) -> int:
        """Bytes exported, converted and uploaded (the data path)."""
        return sum(r.bytes for m in self.migrations for r in m.rows
                   if r.data_path and r.operation == "apply")


def _note(d: Diagnostic) -> str:
    text = f"{d.severity.value}: {d.summary}"
    return f"{text} ({d.detail})" if d.detail else text


def build_report(result: WalkResult, plan: Plan, state: State, operation: str,
                 started: float | None = None,
                 types: Mapping[str, ResourceType] | None = None) -> RunReport:
    """Collect the report from the walk's outcomes, the plan and the state after it.

    ``types`` (resource type name -> schema, from the providers) names each row's stage.
    """
    schemas = types or {}
    changes = {c.address: c for c in plan.changes}
    by_migration: dict[str, list[StageRow]] = {}
    for o in result.outcomes:
        change = changes.get(o.address)
        rs = state.resources.get(o.address)
        rtype = change.type if change else (rs.type if rs else "")
        schema = schemas.get(rtype)
        migration = (change.migration if change else "") or (rs.migration if rs else "") or "-"
        size = o.bytes
        size_key = schema.size_attribute if schema is not None else ""
        if not size and rs is not None and o.operation == "apply" and size_key:
            raw = rs.attributes.get(size_key) or rs.attributes.get("size")
            size = int(raw) if isinstance(raw, int | float) else 0
        by_migration.setdefault(migration, []).append(StageRow(
            address=o.address, stage=(schema.stage if schema and schema.stage else rtype),
            operation=o.operation, status=o.status, seconds=o.seconds, bytes=size,
            attempts=o.attempts, message=o.message, data_path=bool(size_key)))  # fmt: skip
    diags = (*plan.diagnostics, *result.diagnostics)
    depth = generations(from_edges(
        [*changes, *state.resources],
        [(d, c.address) for c in plan.changes for d in c.depends_on]
        + [(d, rs.address) for rs in state.resources.values() for d in rs.dependencies]))
    ops = {"apply": 0, "cleanup": 1, "delete": 2}
    migrations = []
    for name, unsorted in sorted(by_migration.items()):
        rows = sorted(unsorted, key=lambda r: (depth.get(r.address, 0),
                                               ops.get(r.operation, 3), r.address))
        guest: list[str] = []
        server: dict[str, Any] = {}
        for rs in state.resources.values():
            schema = schemas.get(rs.type)
            if rs.migration != name or schema is None:
                continue
            if schema.changes_attribute:
                guest += [str(x) for x in rs.attributes.get(schema.changes_attribute) or []]
            if schema.summary_attributes:
                server = {k: rs.attributes.get(k) for k in schema.summary_attributes}
        notes = [_note(d) for d in diags if d.address and _migration_of(d.address) == name]
        migrations.append(MigrationReport(
            name=name, rows=tuple(rows), guest_changes=tuple(dict.fromkeys(guest)),
            notes=tuple(notes), server=server))  # fmt: skip
    general = [_note(d) for d in diags if not d.address]
    return RunReport(
        operation=operation,
        started=time.strftime("%Y-%m-%d %H:%M:%S UTC",
                              time.gmtime(started if started is not None else time.time())),
        seconds=result.seconds, ok=result.ok, interrupted=result.interrupted,
        lineage=state.lineage, serial=state.serial, migrations=tuple(migrations),
        notes=tuple(dict.fromkeys(general)),
    )  # fmt: skip


def _migration_of(address: str) -> str:
    """``migration.web-01.scw_server`` -> ``web-01``; wildcard instances keep their name."""
    parts = address.split(".", 2)
    if len(parts) < 2 or parts[0] != "migration":
        return ""
    return parts[1].split("[", 1)[0]


def _rate(row: StageRow) -> str:
    rate = row.throughput
    return f"{human_bytes(rate)}/s" if rate else ""


def _status_line(rep: RunReport) -> str:
    state = "interrupted" if rep.interrupted else ("succeeded" if rep.ok else "had failures")
    return (f"{rep.operation.capitalize()} {state} in {rep.seconds:.1f} s; "
            f"{human_bytes(rep.bytes_moved)} moved on the data path; "
            f"state lineage {rep.lineage}, serial {rep.serial}.")


def render_markdown(rep: RunReport) -> str:
    """The report as GitHub-flavoured Markdown."""
    out = [f"# v2s {rep.operation} report — {rep.started}", "", _status_line(rep), ""]
    for m in rep.migrations:
        out += [f"## {m.name} ({'ok' if m.ok else 'failed'}, {m.seconds:.1f} s)", "",
                "| stage | resource | operation | status | duration | bytes | throughput |",
                "|---|---|---|---|---:|---:|---:|"]
        for r in m.rows:
            size = human_bytes(r.bytes) if r.bytes else ""
            status = r.status + (f" ({r.attempts} attempts)" if r.attempts > 1 else "")
            out.append(f"| {r.stage} | `{r.address}` | {r.operation} | {status} | "
                       f"{r.seconds:.1f} s | {size} | {_rate(r)} |")
        if m.server:
            out += ["", "Server: " + ", ".join(f"{k} `{v}`" for k, v in m.server.items()
                                               if v not in (None, "", []))]
        if m.guest_changes:
            out += ["", "Guest changes:", *[f"- {c}" for c in m.guest_changes]]
        if m.notes:
            out += ["", "Validation notes:", *[f"- {n}" for n in m.notes]]
        failed = [r for r in m.rows if r.message and r.status != "ok"]
        if failed:
            out += ["", "Errors:", *[f"- `{r.address}`: {r.message}" for r in failed]]
        out.append("")
    if rep.notes:
        out += ["## Notes", "", *[f"- {n}" for n in rep.notes], ""]
    return "\n".join(out)


def render_html(rep: RunReport) -> str:
    """The report as one self-contained HTML page."""
    e = html.escape
    body = [f"<h1>v2s {e(rep.operation)} report — {e(rep.started)}</h1>",
            f"<p>{e(_status_line(rep))}</p>"]
    for m in rep.migrations:
        body.append(f"<h2>{e(m.name)} ({'ok' if m.ok else 'failed'}, {m.seconds:.1f} s)</h2>")
        body.append("<table><tr><th>stage</th><th>resource</th><th>operation</th>"
                    "<th>status</th><th>duration</th><th>bytes</th><th>throughput</th></tr>")
        for r in m.rows:
            size = human_bytes(r.bytes) if r.bytes else ""
            body.append(
                f"<tr class='{e(r.status)}'><td>{e(r.stage)}</td><td><code>{e(r.address)}"
                f"</code></td><td>{e(r.operation)}</td><td>{e(r.status)}</td>"
                f"<td>{r.seconds:.1f} s</td><td>{e(size)}</td><td>{e(_rate(r))}</td></tr>")
        body.append("</table>")
        if m.server:
            items = "".join(f"<li>{e(k)}: <code>{e(str(v))}</code></li>"
                            for k, v in m.server.items() if v not in (None, "", []))
            body.append(f"<h3>Server</h3><ul>{items}</ul>")
        for title, lines in (("Guest changes", m.guest_changes), ("Validation notes", m.notes)):
            if lines:
                body.append(f"<h3>{title}</h3><ul>"
                            + "".join(f"<li>{e(i)}</li>" for i in lines) + "</ul>")
    if rep.notes:
        body.append("<h2>Notes</h2><ul>" + "".join(f"<li>{e(n)}</li>" for n in rep.notes)
                    + "</ul>")
    style = ("body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
             "td,th{border:1px solid #ccc;padding:4px 8px}tr.failed{background:#fdd}"
             "tr.skipped{background:#eee}")
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>v2s "
            f"{e(rep.operation)} report</title><style>{style}</style></head><body>"
            + "\n".join(body) + "</body></html>\n")


def write_report(result: WalkResult, plan: Plan, state: State, work_dir: Path,
                 operation: str = "apply", started: float | None = None,
                 types: Mapping[str, ResourceType] | None = None) -> Path:
    """Write ``<work_dir>/reports/<operation>-<time>.{md,html,json}``; returns the .md path."""
    rep = build_report(result, plan, state, operation, started, types)
    folder = private_dir(work_dir / "reports")
    stem = f"{operation}-{time.strftime('%Y%m%dT%H%M%S', time.gmtime(started))}"
    md = folder / f"{stem}.md"
    md.write_text(render_markdown(rep), encoding="utf-8")
    (folder / f"{stem}.html").write_text(render_html(rep), encoding="utf-8")
    data = rep.model_dump(mode="json") | {"bytes_moved": rep.bytes_moved}
    (folder / f"{stem}.json").write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return md
