"""Refuse to apply a saved plan whose state, config or sources have moved on (DESIGN §6)."""

from __future__ import annotations

from vmware2scw.desired import Desired
from vmware2scw.errors import StalePlanError
from vmware2scw.plan.model import PLAN_FORMAT_VERSION, Plan
from vmware2scw.state.model import State

_HINT = "run `v2s plan -out FILE` again, review it, then apply the new plan"


def check_current(plan: Plan, state: State, desired: Desired) -> None:
    """Raise StalePlanError naming everything that changed since ``plan`` was made."""
    problems: list[str] = []
    if plan.format_version != PLAN_FORMAT_VERSION:
        problems.append(
            f"the plan file has format version {plan.format_version}; this v2s reads "
            f"version {PLAN_FORMAT_VERSION}"
        )
    if plan.lineage != state.lineage:
        problems.append(
            f"the plan was made for state lineage {plan.lineage}, but the state now has "
            f"lineage {state.lineage} (a different or recreated state)"
        )
    elif plan.serial != state.serial:
        problems.append(
            f"the state changed since the plan was made (serial {plan.serial}, now "
            f"{state.serial}): another apply or a `v2s state` command ran"
        )
    if plan.config_digest != desired.config_digest:
        problems.append("the configuration changed since the plan was made")
    moved = _moved_sources(plan.source_digests, desired.source_digests)
    if moved:
        problems.append("source VMs changed since the plan was made: " + "; ".join(moved))
    if problems:
        raise StalePlanError("saved plan is stale: " + "; ".join(problems), hint=_HINT)


def _moved_sources(planned: dict[str, str], now: dict[str, str]) -> list[str]:
    """One phrase per VM whose changeVersion differs, appeared or vanished."""
    out: list[str] = []
    for vm in sorted(planned.keys() | now.keys()):
        before, after = planned.get(vm), now.get(vm)
        if before == after:
            continue
        if before is None:
            out.append(f"{vm} is new")
        elif after is None:
            out.append(f"{vm} is no longer selected")
        else:
            out.append(f"{vm} changeVersion {before} -> {after}")
    return out
