"""The walk's node graph: one node per operation (apply, delete, cleanup) of a plan.

Applies run after their dependencies' applies, deletes after their dependents'
deletes, a transient's cleanup once every dependent exists; a replace orders its own
delete and create as its action says. A tainted record is resumed, never deleted first.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from vmware2scw import graph
from vmware2scw.plan.action import Action, Reason
from vmware2scw.plan.model import Plan, ResourceChange
from vmware2scw.state.model import ResourceState, State, Status

APPLY, DELETE, CLEANUP = "apply", "delete", "cleanup"
CLEANUP_PENDING = "v2s_cleanup_pending"  # checkpoint of a tombstone whose delete may not be done
_OP_ORDER = {DELETE: 0, APPLY: 1, CLEANUP: 2}


@dataclass(eq=False)
class Node:
    """One operation on one resource, with its edges and (once run) its outcome."""

    key: str
    op: str
    change: ResourceChange
    kind: str
    deps: set[str] = field(default_factory=set)
    dependents: set[str] = field(default_factory=set)
    status: str = "pending"
    started: float = 0.0
    seconds: float = 0.0
    attempts: int = 0
    bytes: int = 0
    message: str = ""

    def sort_key(self) -> tuple[int, str, int]:
        """Ready work starts by priority, then address (deletes before applies)."""
        return (self.change.priority, self.change.address, _OP_ORDER[self.op])


def build_nodes(
    plan: Plan, state: State, kind_of: Callable[[ResourceChange], str]
) -> dict[str, Node]:
    """The wired nodes of ``plan`` against ``state``; ``kind_of`` gives a change's kind."""
    return _Builder(plan, state, kind_of).build()


class _Builder:
    def __init__(
        self, plan: Plan, state: State, kind_of: Callable[[ResourceChange], str]
    ) -> None:
        self.state = state
        self.kind_of = kind_of
        self.changes = {c.address: c for c in plan.changes}
        self.dependents: dict[str, set[str]] = {a: set() for a in self.changes}
        for c in self.changes.values():
            for dep in c.depends_on:
                self.dependents.setdefault(dep, set()).add(c.address)
        self.nodes: dict[str, Node] = {}

    def build(self) -> dict[str, Node]:
        for c in self.changes.values():
            self._operations(c)
        for c in self.changes.values():
            if c.transient and c.action is not Action.DELETE and self._needs_cleanup(c):
                users = {u for u in self.dependents.get(c.address, set())
                         if u in self.changes and self.changes[u].action is not Action.DELETE}
                if users:
                    self._add(CLEANUP, c)
        for rec in self.state.resources.values():
            mine = self.changes.get(rec.address)
            if cleanup_pending(rec) and f"{CLEANUP}:{rec.address}" not in self.nodes and not (
                    mine is not None and mine.action.deletes):
                self._add(CLEANUP, ResourceChange(
                    address=rec.address, type=rec.type, provider=rec.provider,
                    action=Action.DELETE, reason=Reason.CLEANUP, transient=True,
                    migration=rec.migration))
        for node in self.nodes.values():
            self._wire(node)
        return self.nodes

    def _operations(self, c: ResourceChange) -> None:
        if c.action is Action.NOOP:
            return
        if c.action is Action.DELETE and c.reason is Reason.CLEANUP:
            self._add(CLEANUP, c)
        elif resumes(c):  # adopt/resume in place: the provider finds it by its tags
            self._add(APPLY, c)
        else:
            if c.action.creates or c.action is Action.UPDATE:
                self._add(APPLY, c)
            if c.action.deletes:
                self._add(DELETE, c)

    def _wire(self, node: Node) -> None:
        c = node.change
        users = self.dependents.get(c.address, set())
        if node.op == APPLY:
            for dep in c.depends_on:
                self._edge(f"{APPLY}:{dep}", node)
            if c.action is Action.DELETE_THEN_CREATE:
                self._edge(f"{DELETE}:{c.address}", node)
                for user in users:  # dependents being replaced let go first
                    self._edge(f"{DELETE}:{user}", node)
        elif node.op == DELETE:
            for user in users:
                self._edge(f"{DELETE}:{user}", node)
                if c.action is Action.CREATE_THEN_DELETE:
                    self._edge(f"{APPLY}:{user}", node)
            if c.action is Action.CREATE_THEN_DELETE:
                self._edge(f"{APPLY}:{c.address}", node)
        else:  # cleanup: every dependent exists first
            self._edge(f"{APPLY}:{c.address}", node)
            for user in users:
                self._edge(f"{APPLY}:{user}", node)
                self._edge(f"{CLEANUP}:{user}", node)

    def _needs_cleanup(self, c: ResourceChange) -> bool:
        rec = self.state.resources.get(c.address)
        return c.action.creates or c.action is Action.UPDATE or (
            rec is not None and rec.status is not Status.TRANSIENT_DONE)

    def _add(self, op: str, c: ResourceChange) -> None:
        key = f"{op}:{c.address}"
        self.nodes[key] = Node(key, op, c, self.kind_of(c))

    def _edge(self, dep_key: str, node: Node) -> None:
        dep = self.nodes.get(dep_key)
        if dep is not None and dep is not node:
            node.deps.add(dep_key)
            dep.dependents.add(node.key)


def cleanup_pending(rec: ResourceState) -> bool:
    """True for a tombstone whose delete was started but maybe not finished."""
    return rec.status is Status.TRANSIENT_DONE and bool(
        (rec.checkpoint or {}).get(CLEANUP_PENDING))


def resumes(c: ResourceChange) -> bool:
    """A tainted record is resumed (and its object adopted), never deleted first.

    Plans now say `create` (reason `tainted`); a replace with reason `tainted` comes
    from plan files of earlier versions and is run the same way. The provider contract
    (an apply that fails leaves no object or one findable by its tags) makes adoption
    safe, and deleting first would create the object twice.
    """
    return c.action is Action.DELETE_THEN_CREATE and c.reason is Reason.TAINTED


def remove_if_empty(path: Path) -> None:
    """Remove a resource's work folder once nothing is left in it."""
    with contextlib.suppress(OSError):
        path.rmdir()


def cycles(nodes: dict[str, Node]) -> list[list[str]]:
    """Groups of operations that wait on each other (a plan bug): never run, never dropped."""
    return graph.cycles(graph.from_edges(nodes, [(d, k) for k, n in nodes.items()
                                                 for d in n.deps]))
