"""What `v2s state list|show|rm|mv|pull|push` and `v2s force-unlock` do, without the CLI.

An address pattern selects a resource, everything below a partial address
(``migration.web-01`` selects its whole chain), or, with ``*``/``?``, every
address the glob matches. Commands that change the state hold the lock.
"""

from __future__ import annotations

import difflib
import fnmatch
import re
from collections.abc import Iterable, Mapping
from typing import Any

from vmware2scw.errors import StateError
from vmware2scw.state import codec
from vmware2scw.state.backend import Backend
from vmware2scw.state.lock import LockInfo, held, wrong_id_error
from vmware2scw.state.manager import StateManager
from vmware2scw.state.model import ResourceState, State


def matches(pattern: str, address: str) -> bool:
    """True when ``pattern`` selects ``address`` (exact, partial prefix, or glob)."""
    if "*" in pattern or "?" in pattern:
        return fnmatch.fnmatchcase(address, pattern.replace("[", "[[]"))
    return address == pattern or address.startswith((pattern + ".", pattern + "["))


def _no_match(state: State, pattern: str) -> StateError:
    close = difflib.get_close_matches(pattern, list(state.resources), n=1)
    hint = f"did you mean {close[0]}?" if close else "`v2s state list` shows the addresses"
    return StateError(f"no resource in the state matches {pattern}", hint=hint)


def list_addresses(state: State, patterns: Iterable[str] = ()) -> list[str]:
    """The addresses in ``state`` (those ``patterns`` select, if any), sorted."""
    wanted = list(patterns)
    return sorted(a for a in state.resources if not wanted or any(matches(p, a) for p in wanted))


def show_resource(state: State, address: str) -> dict[str, Any]:
    """One resource record as JSON-ready data (StateError with a suggestion if absent)."""
    rs = state.resources.get(address)
    if rs is None:
        raise _no_match(state, address)
    return rs.model_dump(mode="json")


def _manager(backend: Backend, sensitive: Mapping[str, Iterable[str]] | None) -> StateManager:
    state = backend.read()
    if state is None:
        raise StateError(f"{backend.describe()}: there is no state yet")
    return StateManager(backend, sensitive=sensitive, state=state)


def rm(
    backend: Backend,
    patterns: Iterable[str],
    *,
    sensitive: Mapping[str, Iterable[str]] | None = None,
) -> list[str]:
    """Forget the selected resources (the objects themselves stay); returns their addresses."""
    with held(backend, "state rm"):
        manager = _manager(backend, sensitive)
        state = manager.state
        gone: set[str] = set()
        for pattern in patterns:
            hit = list_addresses(state, [pattern])
            if not hit:
                raise _no_match(state, pattern)
            gone.update(hit)
        rest = {a: r for a, r in state.resources.items() if a not in gone}
        manager.persist(state.model_copy(update={"resources": rest}))
    return sorted(gone)


_TYPE_TAIL = re.compile(r"\.([a-z][a-z0-9_]*)(\[\d+\])?$")


def _renamed(rs: ResourceState, old: str, new: str, moves: Mapping[str, str]) -> ResourceState:
    deps = tuple(moves.get(d, d) for d in rs.dependencies)
    address = moves.get(rs.address, rs.address)
    update: dict[str, Any] = {"address": address, "dependencies": deps}
    prefix_old, prefix_new = old.removeprefix("migration."), new.removeprefix("migration.")
    if rs.address != address and rs.migration == prefix_old:
        update["migration"] = prefix_new
    return rs.model_copy(update=update)


def mv(
    backend: Backend,
    source: str,
    destination: str,
    *,
    sensitive: Mapping[str, Iterable[str]] | None = None,
) -> list[tuple[str, str]]:
    """Rename one resource, or every resource below a partial address; returns the moves."""
    if "*" in source or "?" in source or "*" in destination or "?" in destination:
        raise StateError("state mv takes addresses, not patterns")
    with held(backend, "state mv"):
        manager = _manager(backend, sensitive)
        state = manager.state
        hit = list_addresses(state, [source])
        if not hit:
            raise _no_match(state, source)
        if source in state.resources:
            want, got = _TYPE_TAIL.search(source), _TYPE_TAIL.search(destination)
            if want is None or got is None or want.group(1) != got.group(1):
                raise StateError(
                    f"cannot move {source} to {destination}: the resource type must stay the same"
                )
        moves = {a: destination + a[len(source) :] for a in hit}
        taken = sorted(set(moves.values()) & (set(state.resources) - set(moves)))
        if taken:
            raise StateError(
                f"cannot move {source} to {destination}: {taken[0]} already exists",
                hint="remove it first with `v2s state rm` if it is obsolete",
            )
        resources = {}
        for rs in state.resources.values():
            moved = _renamed(rs, source, destination, moves)
            resources[moved.address] = moved
        manager.persist(state.model_copy(update={"resources": resources}))
    return sorted(moves.items())


def pull(backend: Backend) -> bytes:
    """The stored state as JSON bytes (what `v2s state pull` prints)."""
    state = backend.read()
    if state is None:
        raise StateError(f"{backend.describe()}: there is no state yet")
    return codec.dumps(state)


def push(backend: Backend, data: bytes, source: str, *, force: bool = False) -> State:
    """Replace the stored state with ``data`` (read from ``source``) after safety checks."""
    new = codec.loads(data, source)
    with held(backend, "state push"):
        try:
            current = backend.read()
        except StateError:  # corrupt or newer: only -force may replace it
            if not force:
                raise
            current = None
        if current is not None and not force:
            if current.lineage != new.lineage:
                raise StateError(
                    f"{source}: lineage {new.lineage} differs from {backend.describe()}'s "
                    f"lineage {current.lineage}: it is the state of another migration",
                    hint="use -force only if you mean to replace that state entirely",
                )
            if new.serial < current.serial:
                raise StateError(
                    f"{source}: serial {new.serial} is older than {backend.describe()}'s "
                    f"serial {current.serial}",
                    hint="pull the current state, change it, and push that; or use -force",
                )
        serial = max(new.serial, current.serial + 1 if current else 0)
        stored = new.model_copy(update={"serial": serial})
        backend.write(stored)
    return stored


def lock_to_remove(backend: Backend, lock_id: str) -> LockInfo | None:
    """The live holder of lock ``lock_id`` (None: nobody alive); an error for another ID."""
    holder = backend.current_lock()
    if holder is not None and holder.id != lock_id:
        raise wrong_id_error(backend.describe(), lock_id, holder)
    return holder


def force_unlock(backend: Backend, lock_id: str) -> LockInfo | None:
    """Remove the lock ``lock_id`` whoever holds it; returns its holder (None: nobody alive)."""
    holder = lock_to_remove(backend, lock_id)
    backend.force_unlock(lock_id)
    return holder
