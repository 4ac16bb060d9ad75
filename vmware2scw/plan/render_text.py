"""Plain-text plan rendering in Terraform's shape: +, ~, -/+, +/-, - and a summary line."""

from __future__ import annotations

from vmware2scw.plan.action import Action, Reason
from vmware2scw.plan.cost import cost_line, monthly_price, plan_costs
from vmware2scw.plan.model import Plan, ResourceChange
from vmware2scw.plan.render_attrs import attribute_lines
from vmware2scw.plan.render_compact import FULL_HINT, grouped, text_lines, use_compact
from vmware2scw.wording import plural

_SELF_EVIDENT = frozenset({Reason.NEW, Reason.CHANGED, Reason.FORCE_NEW})
_HEADLINE = {
    Action.CREATE: "will be created",
    Action.UPDATE: "will be updated in place",
    Action.DELETE_THEN_CREATE: "must be replaced",
    Action.CREATE_THEN_DELETE: "must be replaced (the new one is created first)",
    Action.DELETE: "will be destroyed",
}


def render_text(plan: Plan, *, compact: bool | None = None) -> str:
    """The whole plan as ``v2s plan`` prints it (no colour codes); ``compact`` None chooses
    the compact form above ``COMPACT_ABOVE`` migrations (render_compact.py)."""
    out: list[str] = []
    short = use_compact(plan, compact)
    changes = [c for c in plan.changes if c.is_change]
    if short and (plan.drift or changes):
        out += [f"Compact form: one line per resource, attributes only for updates; {FULL_HINT}.",
                ""]
    if plan.drift:
        out += ["Objects have changed outside of v2s:", ""]
        if short:
            out += text_lines(grouped(plan.drift, drift=True))
        for change in () if short else plan.drift:
            out += [*resource_block(change, drift=True), ""]
    if changes:
        out += ["v2s will perform the following actions:", ""]
        if short:
            out += text_lines(grouped(changes))
        for change in () if short else changes:
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
