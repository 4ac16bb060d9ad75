"""StateManager: the current state of a run, persisted through a backend at every change.

``persist`` is thread-safe and group-commits: while one thread writes, others
queue their change in memory; the next write carries all of them. Each call
returns only once a write containing its change is stored, so a crash loses
at most the work in flight. Attributes a resource type lists as sensitive are
stripped before anything reaches the backend.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from vmware2scw.errors import StateError
from vmware2scw.state.backend import Backend
from vmware2scw.state.lock import LockInfo, held
from vmware2scw.state.model import ResourceState, State


def _strip(value: Any, path: list[str]) -> Any:
    """``value`` without the dotted ``path`` (dicts only; other values pass through)."""
    if not isinstance(value, dict) or path[0] not in value:
        return value
    if len(path) == 1:
        return {k: v for k, v in value.items() if k != path[0]}
    return {**value, path[0]: _strip(value[path[0]], path[1:])}


class StateManager:
    """Holds the run's current State; every change goes through ``persist``/``update``."""

    def __init__(
        self,
        backend: Backend,
        *,
        sensitive: Mapping[str, Iterable[str]] | None = None,
        state: State | None = None,
        v2s_version: str = "",
    ) -> None:
        self.backend = backend
        given = sensitive or {}
        self.sensitive = {t: [p.split(".") for p in paths] for t, paths in given.items() if paths}
        self.v2s_version = v2s_version
        self._state = state if state is not None else State(v2s_version=v2s_version)
        if self.sensitive and state is not None:  # records written before a type went sensitive
            clean = {a: self.sanitize(rs) for a, rs in state.resources.items()}
            self._state = state.model_copy(update={"resources": clean})
        self._cv = threading.Condition()
        self._gen = 0  # changes made so far
        self._written = 0  # changes known to be stored
        self._writing = False
        self.writes = 0  # backend writes done (fewer than persists under contention)

    @classmethod
    def load(
        cls,
        backend: Backend,
        *,
        sensitive: Mapping[str, Iterable[str]] | None = None,
        v2s_version: str = "",
    ) -> StateManager:
        """A manager holding the backend's state, or a new empty state if it has none."""
        state = backend.read()
        return cls(backend, sensitive=sensitive, state=state, v2s_version=v2s_version)

    @property
    def state(self) -> State:
        """The current state (the last one persisted or being persisted)."""
        return self._state

    @contextmanager
    def locked(self, operation: str) -> Iterator[LockInfo]:
        """Hold the backend's lock for ``operation`` (LockError names the holder)."""
        with held(self.backend, operation) as info:
            yield info

    # --- changes -------------------------------------------------------------------------

    def sanitize(self, rs: ResourceState) -> ResourceState:
        """``rs`` without the attributes (and checkpoint keys) its type marks as sensitive."""
        paths = self.sensitive.get(rs.type)
        if not paths:
            return rs
        attributes, checkpoint = rs.attributes, rs.checkpoint
        for path in paths:
            attributes = _strip(attributes, path)
            checkpoint = _strip(checkpoint, path)
        if attributes is rs.attributes and checkpoint is rs.checkpoint:
            return rs
        return rs.model_copy(update={"attributes": attributes, "checkpoint": checkpoint})

    def _next(self, base: State, new: State) -> State:
        if new.lineage != base.lineage:
            raise StateError(
                f"{self.backend.describe()}: refusing to write a state of lineage {new.lineage} "
                f"over lineage {base.lineage}",
                hint="states of different lineages describe different migrations; "
                "use `v2s state push -force` only if you mean to replace it",
            )
        resources = new.resources
        if self.sensitive:
            old = base.resources
            changed = {a: self.sanitize(rs) for a, rs in resources.items() if old.get(a) is not rs}
            if any(changed[a] is not resources[a] for a in changed):
                resources = {**resources, **changed}
        update: dict[str, Any] = {"serial": max(base.serial, new.serial) + 1}
        if resources is not new.resources:
            update["resources"] = resources
        if self.v2s_version:
            update["v2s_version"] = self.v2s_version
        return new.model_copy(update=update)

    def persist(self, state: State | None = None) -> State:
        """Make ``state`` (default: the current one) current with serial + 1 and store it."""
        return self.update(lambda current: current if state is None else state)

    def update(self, change: Callable[[State], State]) -> State:
        """Apply ``change`` to the current state atomically, then store the result."""
        with self._cv:
            new = self._next(self._state, change(self._state))
            self._state = new
            self._gen += 1
            gen = self._gen
        self._flush(gen)
        return new

    def put(self, rs: ResourceState) -> State:
        """Add or replace one resource record and store the state."""
        return self.update(lambda s: s.with_resource(rs))

    def remove(self, address: str) -> State:
        """Drop one resource record (if present) and store the state."""
        return self.update(lambda s: s.without(address))

    def _flush(self, gen: int) -> None:
        """Return once a write holding change ``gen`` is stored; one thread writes at a time."""
        with self._cv:
            while self._written < gen:
                if self._writing:
                    self._cv.wait()
                    continue
                self._writing = True
                snapshot, snapshot_gen = self._state, self._gen
                stored = False
                self._cv.release()
                try:
                    self.backend.write(snapshot)
                    stored = True
                finally:
                    self._cv.acquire()
                    self._writing = False
                    if stored:
                        self._written = max(self._written, snapshot_gen)
                        self.writes += 1
                        _count_write()
                    self._cv.notify_all()


_process_writes = 0
_process_lock = threading.Lock()


def _count_write() -> None:
    global _process_writes
    with _process_lock:
        _process_writes += 1


def writes_in_process() -> int:
    """State writes done by any StateManager of this process (the Dask benchmark checks
    that workers do none)."""
    return _process_writes
