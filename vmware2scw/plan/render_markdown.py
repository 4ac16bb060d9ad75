"""Markdown for pull-request comments: summary table, Mermaid graph, folded details."""

from __future__ import annotations

from collections import Counter

from vmware2scw.plan.action import Action, Reason
from vmware2scw.plan.cost import cost_line, plan_costs
from vmware2scw.plan.model import Plan, ResourceChange
from vmware2scw.plan.render_attrs import attribute_lines
from vmware2scw.plan.render_compact import FULL_HINT, Group, diff_lines, grouped, use_compact
from vmware2scw.plan.render_text import summary_line
from vmware2scw.wording import plural

MAX_GRAPH_NODES = 60  # beyond this the graph shows one node per migration
MAX_CHARS = 60_000  # GitHub comments stop at 65,536 characters
FOLD_LINES = 8  # attribute lists longer than this are folded
MAX_ROWS = 100  # beyond this, tables list migrations instead of resources

_STYLE = {
    Action.CREATE: "fill:#d3f9d8,stroke:#2b8a3e",
    Action.UPDATE: "fill:#fff3bf,stroke:#e67700",
    Action.DELETE_THEN_CREATE: "fill:#ffe8cc,stroke:#d9480f",
    Action.CREATE_THEN_DELETE: "fill:#ffe8cc,stroke:#d9480f",
    Action.DELETE: "fill:#ffe3e3,stroke:#c92a2a",
}


def render_markdown(plan: Plan, *, compact: bool | None = None) -> str:
    """The plan as a Markdown document sized for one PR comment; ``compact`` as for text
    (None: the compact form above ``COMPACT_ABOVE`` migrations)."""
    s = plan.summary()
    changes = [c for c in plan.changes if c.is_change]
    out = ["## v2s plan", "", f"**{summary_line(plan)}**", ""]
    out += ["| create | update | replace | destroy | unchanged |",
            "|---:|---:|---:|---:|---:|",
            f"| {s.create} | {s.update} | {s.replace} | {s.delete} | {s.noop} |", ""]
    out += _costs(plan)
    errors = [d for d in plan.diagnostics if d.severity.value == "error"]
    if plan.diagnostics:
        title = "Errors: this plan cannot be applied" if errors else "Diagnostics"
        out += [f"### {title}", ""]
        out += [f"- `{_cell(str(d))}`" for d in plan.diagnostics[:MAX_ROWS]]
        if len(plan.diagnostics) > MAX_ROWS:
            out.append(f"- … and {len(plan.diagnostics) - MAX_ROWS} more")
        out.append("")
    if plan.drift:
        out += ["### Changed outside v2s", "", "| Resource | Change |", "|---|---|"]
        out += [f"| `{c.address}` | {c.reason.text} |" for c in plan.drift[:MAX_ROWS]]
        if len(plan.drift) > MAX_ROWS:
            out.append(f"| … | {len(plan.drift) - MAX_ROWS} more |")
        out.append("")
    if changes and use_compact(plan, compact):
        out += ["### Changes", "", *_graph(changes), ""]
        out += ["### Resources by migration", "",
                f"One line per resource, attributes only for updates; {FULL_HINT}.", ""]
        out += _compact_block(grouped(changes), sum(len(line) + 1 for line in out))
    elif changes:
        out += ["### Changes", "", *_graph(changes), ""]
        out += _table(changes)
        out += ["", "### Details", ""]
        used = sum(len(line) + 1 for line in out)
        for i, change in enumerate(changes):
            block = _details(change)
            size = sum(len(line) + 1 for line in block)
            if used + size > MAX_CHARS:
                out.append(f"_{plural(len(changes) - i, 'more resource')} not shown; "
                           "run `v2s show PLANFILE` for the full plan._")
                break
            out += block
            used += size
    return "\n".join(out).rstrip() + "\n"


def _compact_block(found: list[Group], used: int) -> list[str]:
    """The compact form as one ``diff`` block, whole migrations only, within ``MAX_CHARS``."""
    body: list[str] = []
    for i, group in enumerate(found):
        lines = diff_lines([group])
        size = sum(len(line) + 1 for line in lines)
        if used + size > MAX_CHARS:
            return ["```diff", *body, "```", "",
                    f"_{plural(len(found) - i, 'more migration')} not shown; "
                    "run `v2s show PLANFILE` for the full plan._"]
        body += lines
        used += size
    return ["```diff", *body, "```"]


def _table(changes: list[ResourceChange]) -> list[str]:
    """One row per changing resource, or per migration for a large plan."""
    if len(changes) <= MAX_ROWS:
        out = ["| Resource | Action | Reason |", "|---|---|---|"]
        return out + [f"| `{c.address}` | `{c.action.symbol.strip()}` {c.action.value} | "
                      f"{_cell(_reason(c))} |" for c in changes]
    groups: dict[str, Counter[str]] = {}
    for c in changes:
        kind = "replace" if c.action.is_replace else c.action.value
        groups.setdefault(c.migration or c.address, Counter())[kind] += 1
    out = ["| Migration | create | update | replace | destroy |", "|---|---:|---:|---:|---:|"]
    for name, n in sorted(groups.items())[:MAX_ROWS]:
        out.append(f"| `{_cell(name)}` | {n['create']} | {n['update']} | {n['replace']} | "
                   f"{n['delete']} |")
    if len(groups) > MAX_ROWS:
        out.append(f"| … {plural(len(groups) - MAX_ROWS, 'more migration')} | | | | |")
    return out


def _costs(plan: Plan) -> list[str]:
    """The monthly price of each new server (folded when many) and the plan's total."""
    costs = plan_costs(plan)
    if plan.refresh_only or not costs.prices:
        return []
    rows = ["| New server | €/month |", "|---|---:|"]
    rows += [f"| `{_cell(a)}` | {p:.2f} |" for a, p in costs.prices[:MAX_ROWS]]
    if len(costs.prices) > MAX_ROWS:
        rows.append(f"| … {len(costs.prices) - MAX_ROWS} more | |")
    rows.append(f"| **total** | **{costs.total:.2f}** |")
    out = [f"**{cost_line(costs)}**", ""]
    if len(costs.prices) <= FOLD_LINES:
        return [*out, *rows, ""]
    return [*out, "<details>", "<summary>Price of each new server</summary>", "", *rows, "",
            "</details>", ""]


def _reason(change: ResourceChange) -> str:
    text = change.reason.text
    if change.reason in (Reason.NEEDED_BY,) and change.notes:
        return change.notes[0]
    return text


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _details(change: ResourceChange) -> list[str]:
    """One resource's attribute diff; long ones folded in <details>."""
    lines = attribute_lines(change)
    body = ["```diff"] + [_diff_line(change.action, line) for line in lines] + ["```"]
    head = f"`{change.address}` — {change.action.value}"
    if len(lines) <= FOLD_LINES:
        return [f"**{head}**", "", *body, ""]
    summary = f"<code>{change.address}</code> — {change.action.value}"
    return ["<details>", f"<summary>{summary} ({plural(len(lines), 'attribute')})</summary>", "",
            *body, "", "</details>", ""]


def _diff_line(action: Action, line: str) -> str:
    """Attribute lines begin with +, - or ~; ``diff`` highlighting wants + / - / ! first."""
    marker, rest = line[:1], line[1:]
    if marker == "~":
        return "!" + rest
    return marker + rest if marker in "+-" else " " + line


def _graph(changes: list[ResourceChange]) -> list[str]:
    """A Mermaid flowchart of the changing resources (or of migrations when large)."""
    out = ["```mermaid", "flowchart LR"]
    if len(changes) <= MAX_GRAPH_NODES:
        ids = {c.address: f"n{i}" for i, c in enumerate(changes)}
        for c in changes:
            label = f"{c.action.symbol.strip()} {c.address}".replace('"', "#quot;")
            out.append(f'  {ids[c.address]}["{label}"]:::{_cls(c.action)}')
        for c in changes:
            out += [f"  {ids[d]} --> {ids[c.address]}" for d in c.depends_on if d in ids]
    else:
        groups: dict[str, Counter[str]] = {}
        for c in changes:
            groups.setdefault(c.migration or c.address, Counter())[c.action.value] += 1
        for i, (name, counts) in enumerate(sorted(groups.items())[:MAX_GRAPH_NODES]):
            label = f"{name}: " + ", ".join(f"{n} {a}" for a, n in sorted(counts.items()))
            out.append(f'  m{i}["{label.replace(chr(34), "#quot;")}"]')
        if len(groups) > MAX_GRAPH_NODES:
            more = plural(len(groups) - MAX_GRAPH_NODES, "more migration")
            out.append(f'  more["… {more}"]')
    out += [f"  classDef {_cls(a)} {style}" for a, style in _STYLE.items()
            if a is not Action.CREATE_THEN_DELETE]
    out.append("```")
    return out


def _cls(action: Action) -> str:
    return "replace" if action.is_replace else action.value
