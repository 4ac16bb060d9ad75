"""The walker: applies a plan over its dependency graph in parallel (DESIGN §7).

Invariants: a node starts only when its dependencies succeeded; at most ``parallelism``
nodes (and ``limits[kind]`` per kind) run at once; state is persisted at every transition
(tainted before a create, checkpoints at once, created / deleted / tombstone after); a
failure skips its dependents and nothing else; problems become diagnostics, never raises.
"""

from __future__ import annotations

import contextlib
import heapq
import os
import queue
import signal
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import FrameType
from typing import Any

from vmware2scw.config.interpolate import TemplateError, resolve
from vmware2scw.diagnostics import Diagnostic, error, warning
from vmware2scw.errors import StateError, TransientError, V2SError
from vmware2scw.plan.action import Action
from vmware2scw.plan.model import Plan, ResourceChange
from vmware2scw.progress import Event, EventKind
from vmware2scw.provider import (
    ApplyRequest,
    ApplyResponse,
    Attrs,
    DeleteRequest,
    Provider,
    ResourceType,
    lineage_tags,
)
from vmware2scw.state.lookup import state_lookup
from vmware2scw.state.model import ResourceState, State, Status
from vmware2scw.walker.executor import ProviderCall
from vmware2scw.walker.model import Outcome, StateSink, WalkOptions, WalkResult
from vmware2scw.walker.nodes import (
    APPLY,
    CLEANUP,
    CLEANUP_PENDING,
    DELETE,
    Node,
    build_nodes,
    cleanup_pending,
    cycles,
    remove_if_empty,
)
from vmware2scw.workdir import resource_dir


class _Context:
    """The ApplyContext given to a provider for one node."""

    def __init__(self, walk: _Walk, node: Node, work_dir: Path) -> None:
        self._walk = walk
        self._node = node
        self.address = node.change.address
        self.lineage = walk.lineage
        self.work_dir = work_dir
        self.cancelled = walk.cancelled
        self.operation = walk.operation(node)

    @property
    def tags(self) -> tuple[str, ...]:
        return lineage_tags(self.lineage, self.address)

    def progress(
        self, phase: str, done: int | None = None, total: int | None = None, message: str = ""
    ) -> None:
        if done is not None and total is not None:
            self._node.bytes = max(self._node.bytes, done)
        self._walk.emit(EventKind.PROGRESS, self._node, phase=phase, done=done, total=total,
                        message=message)

    def checkpoint(self, data: Attrs) -> None:
        self._walk.save_checkpoint(self.address, dict(data))


def walk(
    plan: Plan,
    state_manager: StateSink,
    providers: Mapping[str, Provider],
    options: WalkOptions | None = None,
) -> WalkResult:
    """Apply ``plan``: create, update, replace, delete and clean up transients, in parallel."""
    return _Walk(plan, state_manager, providers, options or WalkOptions()).run()


class _Walk:
    def __init__(
        self,
        plan: Plan,
        sm: StateSink,
        providers: Mapping[str, Provider],
        options: WalkOptions,
    ) -> None:
        self.plan = plan
        self.sm = sm
        self.providers = providers
        self.opt = options
        self.lineage = sm.state.lineage
        self.cancelled = threading.Event()
        self.stopping = threading.Event()
        self.halted = threading.Event()  # the state cannot be saved: start nothing more
        self.diags: list[Diagnostic] = []
        self._lock = threading.RLock()
        self._done: queue.Queue[tuple[str, str, str]] = queue.Queue()
        self.nodes: dict[str, Node] = {}
        self.old: dict[str, ResourceState] = {}
        self._notes: list[str] = []  # messages queued by the SIGINT handler

    # --- public --------------------------------------------------------------------------

    def run(self) -> WalkResult:
        began = time.monotonic()
        if self.plan.refresh_only:
            self._apply_drift()
            return WalkResult(diagnostics=tuple(self.diags), seconds=time.monotonic() - began)
        planned = {c.address for c in self.plan.changes}
        self.old = {a: r for a, r in self.sm.state.resources.items() if a in planned}
        self.nodes = build_nodes(self.plan, self.sm.state, self._kind)
        self._fail_cycles()
        if self._refuse_prevent_destroy():
            return WalkResult(diagnostics=tuple(self.diags))
        restore = self._install_sigint()
        try:
            self._loop()
        finally:
            if restore is not None:
                signal.signal(signal.SIGINT, restore)
        outcomes = tuple(
            Outcome(address=n.change.address, operation=n.op, action=n.change.action.value,
                    status=n.status if n.status != "pending" else "not-started",
                    seconds=round(n.seconds, 3), attempts=n.attempts, bytes=n.bytes,
                    message=n.message)
            for n in sorted(self.nodes.values(), key=Node.sort_key)
        )
        return WalkResult(outcomes=outcomes, diagnostics=tuple(self.diags),
                          interrupted=self.stopping.is_set(), cancelled=self.cancelled.is_set(),
                          seconds=round(time.monotonic() - began, 3))

    def interrupt(self) -> None:
        """First call: stop scheduling; second: cancel in-flight work; third: exit now.

        Runs inside the SIGINT handler, so it only sets flags and queues its message for
        the main loop (a handler that took a display lock could deadlock on itself).
        """
        if self.cancelled.is_set():
            os.write(2, b"third interrupt: exiting now; the state holds every finished "
                        b"transition and the next apply resumes the rest\n")
            os._exit(130)  # as safe as kill -9, which the crash tests prove
        if self.stopping.is_set():
            self.cancelled.set()
            self._notes.append("second interrupt: cancelling in-flight work (state is saved)")
        else:
            self.stopping.set()
            self.opt.executor.stop_starting()  # calls queued for a host's capacity give up
            self._notes.append("interrupt: no new work starts; waiting for running work "
                               "(press Ctrl-C again to cancel it)")

    # --- graph ---------------------------------------------------------------------------

    def _kind(self, change: ResourceChange) -> str:
        prov = self.providers.get(change.provider)
        rtype = prov.resource_types().get(change.type) if prov is not None else None
        return rtype.kind if rtype else "api"

    def operation(self, node: Node) -> str:
        """What a provider is told it is doing: apply | destroy | cleanup."""
        if node.op == CLEANUP:  # e.g. a pending cleanup outside a destroy's -target
            return "cleanup"
        return "destroy" if self.plan.options.destroy else "apply"

    def _fail_cycles(self) -> None:
        """Operations that wait on each other fail with a diagnostic naming them; their
        dependents are skipped and everything else runs (no dependency is ever dropped)."""
        for group in cycles(self.nodes):
            names = " -> ".join(group)
            for key in group:
                node = self.nodes[key]
                node.status, node.message = "failed", f"dependency cycle: {names}"
            self.diags.append(error(
                f"dependency cycle between {len(group)} operations: {names}",
                "this is a bug in the plan (v2s never drops a dependency to break it); "
                "please report it with the plan file", address=self.nodes[group[0]].change.address))
            for key in group:
                self._skip_dependents(self.nodes[key])

    def _refuse_prevent_destroy(self) -> bool:
        refused = [n.change.address for n in self.nodes.values()
                   if n.op == DELETE and n.change.prevent_destroy]
        for address in sorted(refused):
            self.diags.append(error(
                "refusing to destroy a resource with prevent_destroy",
                "remove prevent_destroy from its migration, or leave it out with -target",
                address=address))
        return bool(refused)

    # --- scheduling ----------------------------------------------------------------------

    def _loop(self) -> None:
        ready: list[tuple[tuple[int, str, int], str]] = []
        waiting: dict[str, int] = {k: len(n.deps) for k, n in self.nodes.items()}
        for key, count in waiting.items():
            if count == 0 and self.nodes[key].status == "pending":
                heapq.heappush(ready, (self.nodes[key].sort_key(), key))
        running: dict[str, str] = {}  # key -> kind
        per_kind: dict[str, int] = {}
        with ThreadPoolExecutor(max_workers=self.opt.parallelism,
                                thread_name_prefix="v2s-walk") as pool:
            while True:
                if not self.stopping.is_set() and not self.halted.is_set():
                    held: list[tuple[tuple[int, str, int], str]] = []
                    while ready and len(running) < self.opt.parallelism:
                        item = heapq.heappop(ready)
                        node = self.nodes[item[1]]
                        limit = self.opt.limits.get(node.kind)
                        if limit is not None and per_kind.get(node.kind, 0) >= max(1, limit):
                            held.append(item)
                            continue
                        running[node.key] = node.kind
                        per_kind[node.kind] = per_kind.get(node.kind, 0) + 1
                        node.status = "running"
                        node.started = time.monotonic()
                        pool.submit(self._run_node, node)
                    for item in held:
                        heapq.heappush(ready, item)
                if not running:
                    break
                try:
                    key, status, message = self._done.get(timeout=0.2)
                except queue.Empty:
                    continue
                finally:
                    while self._notes:
                        self._message(self._notes.pop(0))
                node = self.nodes[key]
                running.pop(key, None)
                per_kind[node.kind] -= 1
                node.status, node.message = status, message
                node.seconds = time.monotonic() - node.started
                if status == "ok":
                    for dkey in node.dependents:
                        waiting[dkey] -= 1
                        if waiting[dkey] == 0 and self.nodes[dkey].status == "pending":
                            heapq.heappush(ready, (self.nodes[dkey].sort_key(), dkey))
                else:
                    self._skip_dependents(node)
        while self._notes:
            self._message(self._notes.pop(0))

    def _skip_dependents(self, failed: Node) -> None:
        stack = list(failed.dependents)
        while stack:
            node = self.nodes[stack.pop()]
            if node.status != "pending":
                continue
            node.status = "skipped"
            node.message = f"skipped: {failed.change.address} ({failed.op}) did not succeed"
            self.emit(EventKind.SKIPPED, node, message=node.message)
            stack.extend(node.dependents)

    def _run_node(self, node: Node) -> None:
        status, message = "failed", ""
        try:
            status, message = self._attempts(node)
        except BaseException as exc:  # a bug must not hang the walk
            message = f"internal error: {type(exc).__name__}: {exc}"
            self._diag(error(message, "this is a bug in v2s; state has been saved",
                             address=node.change.address))
        finally:
            self._done.put((node.key, status, message))

    def _attempts(self, node: Node) -> tuple[str, str]:
        self.emit(EventKind.START, node)
        policy, first = self.opt.retry, time.monotonic()
        while True:
            node.attempts += 1
            try:
                self._execute(node)
            except TransientError as exc:
                if self.cancelled.is_set():
                    return self._failed(node, exc, "cancelled")
                elapsed = time.monotonic() - first
                wait = policy.next_wait(node.attempts, elapsed, exc.retry_after)
                if wait is None:
                    tries = f"{node.attempts} attempt" + ("s" if node.attempts > 1 else "")
                    return self._failed(node, exc, f"gave up after {tries} in {elapsed:.0f} s")
                hinted = " (as the service asked)" if exc.retry_after else ""
                self.emit(EventKind.RETRY, node, message=(
                    f"{exc.message}; attempt {node.attempts + 1} of {policy.max_attempts} "
                    f"in {wait:.1f} s{hinted}"))
                if self.cancelled.wait(wait):
                    return self._failed(node, exc, "cancelled while waiting to retry")
                continue
            except StateError as exc:
                self.halted.set()
                return self._failed(node, exc, "the state could not be saved, so no new work "
                                    "starts; fix the backend and run again")
            except V2SError as exc:
                return self._failed(node, exc, "")
            except Exception as exc:
                return self._failed(node, exc, "unexpected provider error")
            self.emit(EventKind.DONE, node)
            return "ok", ""

    def _failed(self, node: Node, exc: BaseException, note: str) -> tuple[str, str]:
        text = exc.message if isinstance(exc, V2SError) else f"{type(exc).__name__}: {exc}"
        hint = exc.hint if isinstance(exc, V2SError) and exc.hint else ""
        detail = "; ".join(p for p in (note, hint) if p)
        status = "cancelled" if self.cancelled.is_set() else "failed"
        self._diag(error(f"{node.op} failed: {text}", detail, address=node.change.address))
        self.emit(EventKind.FAILED, node, message=text)
        return status, text

    # --- operations ----------------------------------------------------------------------

    def _provider(self, change: ResourceChange) -> Provider:
        prov = self.providers.get(change.provider)
        if prov is None:
            raise V2SError(f"provider {change.provider!r} is not configured",
                           address=change.address, hint="add it under `providers:`")
        return prov

    def _execute(self, node: Node) -> None:
        c = node.change
        prov = self._provider(c)
        rtype = prov.resource_types().get(c.type) or ResourceType(name=c.type)
        ctx = _Context(self, node, resource_dir(self.opt.work_dir, c.address))
        if node.op == APPLY:
            self._apply(node, prov, rtype, ctx)
        else:
            self._delete(node, prov, rtype, ctx, cleanup=node.op == CLEANUP)

    def _apply(self, node: Node, prov: Provider, rtype: ResourceType, ctx: _Context) -> None:
        c = node.change
        planned = self._planned(c, rtype)
        rec = self.sm.state.resources.get(c.address)
        is_update = c.action is Action.UPDATE and rec is not None and (
            rec.status is Status.CREATED)
        checkpoint = rec.checkpoint if rec is not None and rec.status is Status.TAINTED else None
        prior = rec.attributes if is_update and rec is not None else None
        call = ProviderCall(
            provider=c.provider, kind=rtype.kind, migration=c.migration,
            request=ApplyRequest(address=c.address, type=c.type, prior=prior, planned=planned,
                                 checkpoint=checkpoint))
        host = self.opt.executor.place(call)
        if not is_update:
            self._put(ResourceState(
                address=c.address, type=c.type, provider=c.provider,
                attributes=_public(planned, rtype), dependencies=tuple(sorted(c.depends_on)),
                status=Status.TAINTED, checkpoint=checkpoint, migration=c.migration,
                transient=c.transient, prevent_destroy=c.prevent_destroy, host=host))
        resp = self.opt.executor.run(call, prov, ctx)
        assert isinstance(resp, ApplyResponse)
        self.diags.extend(resp.diagnostics)
        self._put(ResourceState(
            address=c.address, type=c.type, provider=c.provider,
            attributes=_public(resp.attributes, rtype), dependencies=tuple(sorted(c.depends_on)),
            status=Status.CREATED, migration=c.migration, transient=c.transient,
            prevent_destroy=c.prevent_destroy, host=host))

    def _planned(self, c: ResourceChange, rtype: ResourceType) -> Attrs:
        unknown_top = {_top(p) for p in c.after_unknown}
        base = {k: v for k, v in (c.after or {}).items() if k not in unknown_top}
        config = c.config if c.config is not None else {}
        lookup = state_lookup(self.sm.state)
        try:
            resolved, unknown = resolve(config, lookup)
        except TemplateError as exc:
            raise V2SError(f"cannot resolve a reference: {exc.message}", address=c.address,
                           hint="run `v2s validate`") from None
        if unknown:
            raise V2SError(f"values still unknown at apply time: {', '.join(sorted(unknown))}",
                           address=c.address, hint="a resource it references failed or is "
                           "missing from state; run `v2s plan` again")
        planned = {**base, **resolved}
        desired = self.opt.desired.resources.get(c.address) if self.opt.desired else None
        for name in rtype.sensitive:
            if desired is not None and name in desired.attributes:
                value, _ = resolve(desired.attributes[name], lookup)
                planned[name] = value
        return planned

    def _delete(self, node: Node, prov: Provider, rtype: ResourceType, ctx: _Context, *,
                cleanup: bool) -> None:
        c = node.change
        replaced_later = node.op == DELETE and c.action is Action.CREATE_THEN_DELETE
        rec = self.old.get(c.address) if replaced_later else self.sm.state.resources.get(
            c.address)
        if rec is None:
            return  # already gone from state (an earlier run finished it)
        if cleanup:
            self._cleanup(rec, prov, ctx, rtype.kind)
        else:
            if (rec.status is not Status.TRANSIENT_DONE or cleanup_pending(rec) or (
                    ctx.operation == "destroy" and rtype.delete_tombstone_on_destroy)):
                self._provider_delete(rec, prov, ctx, rtype.kind)
            if not replaced_later:
                self.sm.update(lambda s: s.without(c.address))
        remove_if_empty(ctx.work_dir)

    def _cleanup(self, rec: ResourceState, prov: Provider, ctx: _Context, kind: str) -> None:
        """Delete a used transient, leaving a tombstone; marked first so a crash resumes it."""
        if rec.status is Status.TRANSIENT_DONE and not cleanup_pending(rec):
            return
        done = rec.model_copy(update={"status": Status.TRANSIENT_DONE, "checkpoint": None})
        self._put(done.model_copy(update={"checkpoint": {CLEANUP_PENDING: True}}))
        try:
            self._provider_delete(rec, prov, ctx, kind)
        except BaseException:
            self._put(rec.model_copy(update={"status": Status.CREATED, "checkpoint": None}))
            raise
        self._put(done)

    def _provider_delete(self, rec: ResourceState, prov: Provider, ctx: _Context,
                         kind: str) -> None:
        checkpoint = rec.checkpoint if rec.status is Status.TAINTED else None
        resp = self.opt.executor.run(ProviderCall(
            provider=rec.provider, kind=kind, migration=rec.migration,
            request=DeleteRequest(address=rec.address, type=rec.type, prior=rec.attributes,
                                  checkpoint=checkpoint)), prov, ctx)
        self.diags.extend(resp.diagnostics)

    # --- state ---------------------------------------------------------------------------

    def _put(self, rs: ResourceState) -> None:
        self.sm.update(lambda s: s.with_resource(rs))

    def save_checkpoint(self, address: str, data: Attrs) -> None:
        def change(s: State) -> State:
            rec = s.resources.get(address)
            if rec is None:
                return s
            return s.with_resource(rec.model_copy(update={"checkpoint": data}))

        self.sm.update(change)

    def _apply_drift(self) -> None:
        def change(state: State) -> State:
            for d in self.plan.drift:
                rec = state.resources.get(d.address)
                if rec is None:
                    continue
                if d.after is None:
                    state = state.without(d.address)
                else:
                    state = state.with_resource(rec.model_copy(update={"attributes": d.after}))
            return state

        self.sm.update(change)

    # --- events --------------------------------------------------------------------------

    def emit(self, kind: EventKind, node: Node, **kw: Any) -> None:
        try:
            self.opt.on_event(Event(kind=kind, address=node.change.address, operation=node.op,
                                    time=time.monotonic(), **kw))
        except Exception as exc:  # a renderer must not break the walk
            self._diag(warning(f"progress display failed: {exc}"))

    def _message(self, text: str) -> None:
        with contextlib.suppress(Exception):  # display problems never stop a run
            self.opt.on_event(Event(kind=EventKind.MESSAGE, message=text, time=time.monotonic()))

    def _diag(self, d: Diagnostic) -> None:
        with self._lock:
            self.diags.append(d)

    def _install_sigint(self) -> Callable[..., Any] | int | None:
        if not self.opt.handle_sigint or threading.current_thread() is not threading.main_thread():
            return None

        def handler(signum: int, frame: FrameType | None) -> None:
            self.interrupt()

        previous = signal.getsignal(signal.SIGINT)
        signal.signal(signal.SIGINT, handler)
        return previous if previous is not None else signal.SIG_DFL


def _top(path: str) -> str:
    for i, ch in enumerate(path):
        if ch in ".[":
            return path[:i]
    return path


def _public(attrs: Attrs, rtype: ResourceType) -> Attrs:
    return {k: v for k, v in attrs.items() if k not in rtype.sensitive}
