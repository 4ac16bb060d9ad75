"""Which state records a hand-off covers, and the refusals that come before any file is written.

A target is a migration (``migration.web-01``, ``migration.app["app-03"]``) or the address
of its migrated server. Every selected migration must be finished: no tainted or
interrupted record, and its server created.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterable
from dataclasses import dataclass

from vmware2scw.errors import StateError
from vmware2scw.handoff.hcl import identifier
from vmware2scw.state.commands import matches
from vmware2scw.state.model import ResourceState, State, Status


@dataclass(frozen=True)
class Selection:
    """The records to hand off (one per migration) and the identifier of each migration."""

    records: tuple[ResourceState, ...]
    names: dict[str, str]  # migration -> identifier


def select(state: State | None, result_types: Collection[str], targets: Iterable[str]
           ) -> Selection:
    """The migrated servers ``targets`` name (all of them when none); StateError otherwise."""
    if state is None or not state.resources:
        raise StateError("there is no state yet: nothing to hand off",
                         hint="run `v2s apply` first; `v2s handoff` hands off what it created")
    results = {a: r for a, r in state.resources.items() if r.type in result_types}
    wanted = list(targets)
    chosen: dict[str, ResourceState] = {}
    for pattern in wanted:
        hit = {a: r for a, r in results.items() if matches(pattern, a)}
        if not hit:
            raise _not_a_server(state, pattern, results)
        chosen.update(hit)
    if not wanted:
        chosen = dict(results)
        unfinished = sorted({r.migration for r in state.resources.values()}
                            - {r.migration for r in results.values()})
        if unfinished:
            raise StateError(
                f"migration {unfinished[0]} has no migrated server yet (it failed or is "
                "not finished)",
                hint="finish it with `v2s apply`, or hand off the others with -target")
    if not chosen:
        raise StateError("the state holds no migrated server to hand off",
                         hint="run `v2s apply` first")
    for rs in chosen.values():
        _check_finished(state, rs)
    records = tuple(sorted(chosen.values(), key=lambda r: r.address))
    return Selection(records=records, names=unique_names(r.migration for r in records))


def _not_a_server(state: State, pattern: str, results: dict[str, ResourceState]) -> StateError:
    known = sorted({f"migration.{r.migration}" for r in results.values()})
    listed = ", ".join(known[:6]) or "none"
    if any(matches(pattern, a) for a in state.resources):
        return StateError(f"{pattern} is not a migrated server",
                          hint=f"target a migration or its server; migrated: {listed}")
    return StateError(f"no migration in the state matches {pattern}",
                      hint=f"migrated servers: {listed} (`v2s state list` shows every address)")


def _check_finished(state: State, server: ResourceState) -> None:
    """Refuse a migration whose records are tainted or interrupted."""
    for rs in sorted(state.resources.values(), key=lambda r: r.address):
        if rs.migration != server.migration:
            continue
        interrupted = rs.status is Status.CREATED and rs.checkpoint is not None
        if rs.status is Status.TAINTED or interrupted:
            what = "tainted" if rs.status is Status.TAINTED else "interrupted"
            raise StateError(
                f"migration {server.migration} is not finished: {rs.address} is {what}",
                hint="finish it with `v2s apply` (or undo it with `v2s destroy -target`) "
                     "before handing it off")


def unique_names(migrations: Iterable[str]) -> dict[str, str]:
    """An identifier per migration; two keys that clean up alike get a short hash each."""
    ms = sorted(set(migrations))
    base = {m: identifier(m) for m in ms}
    clash = {n for n in base.values() if list(base.values()).count(n) > 1}
    return {m: (f"{n}_{hashlib.sha256(m.encode()).hexdigest()[:6]}" if n in clash else n)
            for m, n in base.items()}
