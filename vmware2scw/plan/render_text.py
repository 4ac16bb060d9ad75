"""Plain-text plan rendering in Terraform's shape: +, ~, -/+, +/-, - and a summary line."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from vmware2scw.plan.action import Action, Reason
from vmware2scw.plan.cost import cost_line, monthly_price, plan_costs
from vmware2scw.plan.differ import is_under, top_level
from vmware2scw.plan.model import Plan, ResourceChange
from vmware2scw.values import UNKNOWN_TEXT
from vmware2scw.wording import plural

SENSITIVE_TEXT = "(sensitive value)"
_INLINE = 72  # longer lists/maps are broken over lines

_SELF_EVIDENT = frozenset({Reason.NEW, Reason.CHANGED, Reason.FORCE_NEW})
_HEADLINE = {
    Action.CREATE: "will be created",
    Action.UPDATE: "will be updated in place",
    Action.DELETE_THEN_CREATE: "must be replaced",
    Action.CREATE_THEN_DELETE: "must be replaced (the new one is created first)",
    Action.DELETE: "will be destroyed",
}


def render_text(plan: Plan) -> str:
    """The whole plan as ``v2s plan`` prints it (no colour codes)."""
    out: list[str] = []
    if plan.drift:
        out += ["Objects have changed outside of v2s:", ""]
        for change in plan.drift:
            out += [*resource_block(change, drift=True), ""]
    changes = [c for c in plan.changes if c.is_change]
    if changes:
        out += ["v2s will perform the following actions:", ""]
        for change in changes:
            out += [*resource_block(change), ""]
    out.append(summary_line(plan))
    if not plan.refresh_only and (line := cost_line(plan_costs(plan))):
        out.append(line)
    if plan.diagnostics:
        out.append("")
        out += [str(d) for d in plan.diagnostics]
    return "\n".join(out) + "\n"


def summary_line(plan: Plan) -> str:
    """``Plan: 1 to create, 0 to update, 0 to replace, 0 to destroy.`` or a no-change line."""
    if plan.refresh_only:
        if not plan.drift:
            return "No changes. The recorded state matches the real objects."
        return (f"Refresh only: {plural(len(plan.drift), 'object')} changed outside v2s; applying "
                "this plan records them in state and changes nothing else.")
    s = plan.summary()
    if s.total == 0:
        return "No changes. The migrations match the configuration."
    return (f"Plan: {s.create} to create, {s.update} to update, {s.replace} to replace, "
            f"{s.delete} to destroy.")


def resource_block(change: ResourceChange, *, drift: bool = False) -> list[str]:
    """The lines describing one change: comment header, reason, notes, attributes."""
    action = change.action
    if drift:
        verb = "has been deleted" if action is Action.DELETE else "has changed"
    elif change.reason is Reason.CLEANUP:
        verb = "will be cleaned up"
    elif change.reason is Reason.TAINTED:
        verb = ("is tainted, so it will be applied again" if action is Action.CREATE
                else "is tainted, so " + _HEADLINE[action])
    elif change.reason is Reason.RESUME:
        verb = "will be resumed"
    else:
        verb = _HEADLINE.get(action, "")
    lines = [f"  # {change.address} {verb}"]
    if drift or change.reason not in _SELF_EVIDENT:
        lines.append(f"  # (because: {_reason(change)})")
    lines += [f"  # {note}" for note in change.notes]
    price = None if drift else monthly_price(change)
    if price is not None:
        lines.append(f"  # about €{price:.2f}/month")
    lines.append(f"{action.symbol:>3} {change.type} {change.address} {{")
    lines += [f"      {line}" for line in attribute_lines(change)]
    lines.append("    }")
    return lines


def _reason(change: ResourceChange) -> str:
    if change.reason is Reason.NEEDED_BY and change.notes:
        return "a dependent must be created"
    return change.reason.text


def attribute_lines(change: ResourceChange) -> list[str]:
    """Attribute lines, aligned on ``=``, with unknowns and sensitive values masked."""
    before = change.before or {}
    after = change.after or {}
    unknown = change.after_unknown
    rows: list[tuple[str, str, str, str]] = []  # marker, key, text, comment
    marker = {Action.CREATE: "+", Action.DELETE: "-"}.get(change.action, " ")
    rows += [(marker, key, SENSITIVE_TEXT, "") for key in change.sensitive_paths]
    hidden = 0
    forced = {top_level(p) for p in change.replace_paths}
    changed = {top_level(p) for p in change.changed_paths}
    if change.action is Action.DELETE:
        rows += [("-", k, _fmt(before[k]), "") for k in sorted(before)]
    elif change.action is Action.CREATE or (change.action.is_replace and not before):
        rows += [("+", k, _value(after, k, unknown), "") for k in sorted(after)]
    else:
        for key in sorted(before.keys() | after.keys()):
            is_unknown = any(is_under(u, key) for u in unknown)
            if key not in changed and not is_unknown and before.get(key) == after.get(key):
                hidden += 1
                continue
            note = "# forces replacement" if key in forced else ""
            if key not in after:
                rows.append(("-", key, _fmt(before[key]), note))
            elif key not in before:
                rows.append(("+", key, _value(after, key, unknown), note))
            else:
                text = f"{_fmt(before[key])} -> {_value(after, key, unknown)}"
                rows.append(("~", key, text, note))
    width = max((len(k) for _, k, _, _ in rows), default=0)
    lines = [f"{m} {k.ljust(width)} = {t}{' ' + c if c else ''}" for m, k, t, c in rows]
    if hidden:
        lines.append(f"  ({hidden} unchanged attribute{'s' if hidden > 1 else ''} hidden)")
    return lines


def _value(attrs: dict[str, Any], key: str, unknown: Iterable[str]) -> str:
    """One attribute's planned value, with unknown parts shown as (known after apply)."""
    inner = [u for u in unknown if is_under(u, key)]
    if key in inner:
        return UNKNOWN_TEXT
    return _fmt(attrs.get(key), key, inner)


def _fmt(value: Any, path: str = "", unknown: list[str] | None = None) -> str:
    """A value as JSON-like text; nested unknown paths become (known after apply)."""
    if unknown and path in unknown:
        return UNKNOWN_TEXT
    if isinstance(value, list) and unknown:
        return _join("[", [_fmt(v, f"{path}[{i}]", unknown) for i, v in enumerate(value)], "]")
    if isinstance(value, dict) and unknown:
        return _join("{", [f"{json.dumps(k)}: {_fmt(v, f'{path}.{k}', unknown)}"
                           for k, v in value.items()], "}")
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    if len(text) <= _INLINE or not isinstance(value, list | dict):
        return text
    return json.dumps(value, ensure_ascii=False, sort_keys=True, indent=2).replace(
        "\n", "\n" + " " * 8)


def _join(open_: str, parts: list[str], close: str) -> str:
    return open_ + ", ".join(parts) + close
