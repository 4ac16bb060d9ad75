"""The compact plan form: one line per resource, grouped by migration, attributes only for
updates. The default above ``COMPACT_ABOVE`` migrations, for text and Markdown alike."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from vmware2scw.plan.action import Action, Reason
from vmware2scw.plan.differ import top_level
from vmware2scw.plan.model import Plan, ResourceChange
from vmware2scw.plan.render_attrs import attribute_lines

COMPACT_ABOVE = 10  # migrations; a wave larger than this is reviewed in the compact form
FULL_HINT = "`-full` shows every attribute"
_SELF_EVIDENT = frozenset({Reason.NEW, Reason.CHANGED, Reason.FORCE_NEW, Reason.NOT_IN_CONFIG,
                           Reason.DESTROY})
_VERBS = (("create", "to create"), ("update", "to update"), ("replace", "to replace"),
          ("delete", "to destroy"))
_DRIFT_VERBS = (("update", "changed"), ("delete", "deleted"))


@dataclass(frozen=True)
class Line:
    """One resource: its marker, address, a short comment and (updates only) attributes."""

    symbol: str
    address: str
    comment: str
    attributes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Group:
    """The lines of one migration (or of resources outside any migration)."""

    title: str
    counts: str
    lines: tuple[Line, ...]


def migrations_changed(plan: Plan) -> int:
    """How many migrations the plan changes or found drifted (what ``COMPACT_ABOVE`` counts)."""
    return len({c.migration or c.address for c in (*plan.changes, *plan.drift) if c.is_change})


def use_compact(plan: Plan, compact: bool | None) -> bool:
    """The form to render: as asked (``-compact``/``-full``), else compact above the threshold."""
    return migrations_changed(plan) > COMPACT_ABOVE if compact is None else compact


def grouped(changes: Iterable[ResourceChange], *, drift: bool = False) -> list[Group]:
    """The changes grouped by migration, in address order within each group."""
    by_migration: dict[str, list[ResourceChange]] = {}
    for change in changes:
        if change.is_change:
            by_migration.setdefault(change.migration, []).append(change)
    out = []
    for name in sorted(by_migration, key=lambda n: (n == "", n)):
        members = by_migration[name]
        kinds = Counter("replace" if c.action.is_replace else c.action.value for c in members)
        counts = ", ".join(f"{kinds[k]} {verb}" for k, verb in (_DRIFT_VERBS if drift else _VERBS)
                           if kinds[k])
        title = f"migration.{name}" if name else "outside any migration"
        out.append(Group(title, counts, tuple(_line(c, drift) for c in members)))
    return out


def _line(change: ResourceChange, drift: bool) -> Line:
    if drift:
        comment = "deleted outside v2s" if change.action is Action.DELETE else "changed outside v2s"
    elif change.reason in _SELF_EVIDENT:
        comment = ""
    elif change.reason is Reason.NEEDED_BY and change.notes:
        comment = change.notes[0]
    else:
        comment = change.reason.text
    forced = sorted({top_level(p) for p in change.replace_paths})
    if forced and not drift:
        comment = "; ".join(filter(None, [comment, f"forces replacement: {', '.join(forced)}"]))
    attributes: tuple[str, ...] = ()
    if change.action is Action.UPDATE:
        attributes = tuple(a for a in attribute_lines(change) if not a.startswith("  ("))
    return Line(change.action.symbol, change.address, comment, attributes)


def text_lines(found: list[Group]) -> list[str]:
    """The groups as plain text: a heading per migration, one line per resource."""
    out: list[str] = []
    for group in found:
        out.append(f"{group.title}: {group.counts}")
        for line in group.lines:
            comment = f"  # {line.comment}" if line.comment else ""
            out.append(f"{line.symbol:>5} {line.address}{comment}")
            out += [f"        {a}" for a in line.attributes]
        out.append("")
    return out


def diff_lines(found: list[Group]) -> list[str]:
    """The groups for a Markdown ``diff`` block: ``@@`` headings, ``+ - !`` markers first."""
    out: list[str] = []
    for group in found:
        out.append(f"@@ {group.title}: {group.counts} @@")
        for line in group.lines:
            symbol = line.symbol.strip()
            marker = {"+": "+", "-": "-"}.get(symbol, "!")
            what = {"-/+": "replace", "+/-": "replace, the new one first"}.get(symbol, "")
            comment = "; ".join(filter(None, [what, line.comment]))
            out.append(f"{marker} {line.address}{f'  # {comment}' if comment else ''}")
            out += [f"{_marker(a)}     {a[2:]}" for a in line.attributes]
    return out


def _marker(attribute_line: str) -> str:
    """Attribute lines start with ``+``, ``-`` or ``~``; ``diff`` wants ``+``, ``-`` or ``!``."""
    return {"+": "+", "-": "-"}.get(attribute_line[:1], "!")
