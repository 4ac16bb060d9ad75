"""`v2s handoff done`: mark migrated servers as handed off, under the state lock.

The record stays (unlike `v2s state rm`): plans show it as a no-op, refresh skips it,
destroy leaves it, and nothing re-creates it until `v2s state rm` releases it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable

from vmware2scw.handoff.select import select
from vmware2scw.state.backend import Backend
from vmware2scw.state.lock import held
from vmware2scw.state.manager import StateManager
from vmware2scw.state.model import HandedOff


def mark_done(backend: Backend, result_types: Collection[str], targets: Iterable[str],
              to: str = "terraform") -> tuple[list[str], list[str]]:
    """Mark the selected servers handed off to ``to``; returns (newly marked, already)."""
    with held(backend, "handoff done"):
        state = backend.read()
        chosen = select(state, result_types, targets)
        assert state is not None
        at = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()
        marked: list[str] = []
        already: list[str] = []
        resources = dict(state.resources)
        for rs in chosen.records:
            if rs.handed_off is not None:
                already.append(rs.address)
                continue
            resources[rs.address] = rs.model_copy(update={"handed_off": HandedOff(to=to, at=at)})
            marked.append(rs.address)
        if marked:
            StateManager(backend, state=state).persist(
                state.model_copy(update={"resources": resources}))
    return marked, already
