"""prevent_destroy: a plan that would delete or replace a protected resource is an error."""

from __future__ import annotations

from collections.abc import Iterable

from vmware2scw.desired import Desired
from vmware2scw.diagnostics import Diagnostic, error
from vmware2scw.plan.action import Action, Reason
from vmware2scw.plan.model import ResourceChange
from vmware2scw.state.model import State, Status


def check_prevent_destroy(
    changes: Iterable[ResourceChange], desired: Desired, state: State
) -> list[Diagnostic]:
    """One error per protected resource the plan would delete or replace."""
    found: list[Diagnostic] = []
    for change in changes:
        if not change.action.deletes or change.reason is Reason.CLEANUP:
            continue
        rs = state.resources.get(change.address)
        if rs is None or rs.status is Status.TRANSIENT_DONE:
            continue  # nothing exists to protect
        dr = desired.resources.get(change.address)
        protected = dr.prevent_destroy if dr is not None else rs.prevent_destroy
        if not protected:
            continue
        verb = "destroy" if change.action is Action.DELETE else "replace"
        where = f"migration {dr.migration}" if dr is not None and dr.migration else "its migration"
        found.append(error(
            f"prevent_destroy is set, but this plan would {verb} it ({change.reason.text})",
            f"remove prevent_destroy from {where} in the config if this is intended, "
            "or change the config so the resource is kept",
            address=change.address,
        ))
    return found
