"""The Dask executor (coordinator side): data-path calls run on migration hosts.

A migration is pinned to one host (in its target zone, fewest migrations first) for the run;
its data-path calls (``remote_kinds``) run there as Dask tasks restricted to that
worker and its resources, other calls run here. The walker stays the only state
writer: events from the task are applied to the walker's context in order, all of
them before the result. A lost host fails its in-flight calls with a clear error
(their records stay tainted with their last checkpoint; the rerun resumes them).
"""

from __future__ import annotations

import queue
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from distributed import Client, Event, Future

from vmware2scw.cluster.connect import connect
from vmware2scw.cluster.host import ATTACH_SLOTS, CONVERT, HostFacts, describe
from vmware2scw.cluster.task import TaskResult, TaskSpec, run_task
from vmware2scw.config.model import ExecutorConfig
from vmware2scw.desired import ProviderBlock
from vmware2scw.errors import ConfigError, ProviderError, V2SError
from vmware2scw.provider import ApplyContext, ApplyRequest, ApplyResponse, DeleteResponse, Provider
from vmware2scw.walker.executor import ProviderCall, invoke
from vmware2scw.workdir import safe_name

POLL = 0.25  # seconds between looks at events, cancellation and liveness
DRAIN = 30.0  # seconds to wait for a finished task's last events


class DaskExecutor:
    """Runs ``remote_kinds`` calls on pinned migration hosts; see the module docstring."""

    def __init__(self, client: Client, *, lineage: str, blocks: Mapping[str, ProviderBlock],
                 zones: Mapping[str, str], remote_kinds: Iterable[str],
                 cancel_grace: float = 120.0, recorded: Mapping[str, str] | None = None
                 ) -> None:
        self.client = client
        self.scheduler = str(client.scheduler.address if client.scheduler else "")
        self.lineage = lineage
        self.blocks = dict(blocks)
        self.zones = dict(zones)
        self.remote_kinds = frozenset(remote_kinds)
        self.cancel_grace = cancel_grace
        self.run_id = uuid.uuid4().hex[:12]
        self.topic = f"v2s-events-{self.run_id}"
        self._cancel = Event(f"v2s-cancel-{self.run_id}", client=client)
        self._cancel_sent = False
        self._lock = threading.Lock()
        self._inboxes: dict[str, queue.Queue[dict[str, Any]]] = {}
        self._pins: dict[str, str] = {}  # migration -> worker address
        self._recorded = dict(recorded or {})  # migration -> host name its data is on (state)
        self._busy: Counter[str] = Counter()  # worker address -> calls submitted, not done
        self._futures: dict[str, Future[Any]] = {}
        self.hosts = self._discover()
        self._alive = set(self.hosts)
        self._capacity = {a: _capacity(h) for a, h in self.hosts.items()}
        self._closed = threading.Event()
        self._stopping = threading.Event()  # first Ctrl-C: queued calls do not start
        client.subscribe_topic(self.topic, self._on_event)
        self._monitor = threading.Thread(target=self._watch_workers, daemon=True,
                                         name="v2s-dask-monitor")
        self._monitor.start()

    @classmethod
    def open(cls, cfg: ExecutorConfig, base_dir: Path, *, lineage: str,
             blocks: Mapping[str, ProviderBlock], zones: Mapping[str, str],
             recorded: Mapping[str, str] | None = None) -> DaskExecutor:
        """Connect to ``cfg.scheduler`` and read the migration hosts (errors say what to do)."""
        client = connect(cfg, base_dir)
        try:
            return cls(client, lineage=lineage, blocks=blocks, zones=zones,
                       remote_kinds=cfg.remote_kinds, cancel_grace=cfg.cancel_grace,
                       recorded=recorded)
        except BaseException:
            client.close()
            raise

    # --- hosts -------------------------------------------------------------------------

    def _discover(self) -> dict[str, HostFacts]:
        workers = self.client.scheduler_info()["workers"]
        declared = self.client.run(describe) if workers else {}
        hosts: dict[str, HostFacts] = {}
        for address, facts in declared.items():
            if facts is None:
                continue  # a worker of some other workload: never used
            resources = {str(k): float(v) for k, v in
                         (workers.get(address, {}).get("resources") or {}).items()}
            hosts[address] = HostFacts.model_validate(
                {**facts, "address": address, "resources": resources})
        return hosts

    def check(self, demands: Mapping[str, str]) -> None:
        """Refuse, before anything is created, a wave these hosts cannot serve."""
        check_hosts(self.hosts.values(), demands, self.scheduler)

    def _watch_workers(self) -> None:
        """Keep the set of live workers current; hosts that joined later are adopted."""
        while not self._closed.wait(1.0):
            try:
                alive = set(self.client.scheduler_info()["workers"])
                with self._lock:
                    known = set(self.hosts)
                joined = self._discover() if alive - known else {}
            except Exception:  # noqa: S112 - the scheduler is gone: futures will say so
                continue
            with self._lock:
                for address, host in joined.items():
                    if address not in self.hosts:
                        self.hosts[address] = host
                        self._capacity[address] = _capacity(host)
                self._alive = alive

    def place(self, call: ProviderCall) -> str:
        """The name of the host ``call`` runs on (pinning its migration), "" if local."""
        if call.kind not in self.remote_kinds:
            return ""
        return self.hosts[self._pin(call)].name

    def _pin(self, call: ProviderCall) -> str:
        """The migration's host address: pinned this run, else where the state says its
        data is (if that host is live), else the live host of its zone with the fewest."""
        with self._lock:
            pinned = self._pins.get(call.migration)
            if pinned is not None:
                if pinned not in self._alive:
                    raise self._lost(call, pinned)
                return pinned
            zone = self.zones.get(call.migration)
            candidates = [a for a, h in self.hosts.items()
                          if a in self._alive and (zone is None or h.zone == zone)]
            if not candidates:
                raise V2SError(f"no live migration host in zone {zone} for this migration",
                               address=call.request.address,
                               hint="start `v2s worker` there and run `v2s apply` again")
            recorded = [a for a in candidates
                        if self.hosts[a].name == self._recorded.get(call.migration)]
            pins = Counter(self._pins.values())
            chosen = recorded[0] if recorded else min(  # fewest migrations, then least busy
                candidates, key=lambda a: (pins[a], self._busy[a], a))
            if call.migration:
                self._pins[call.migration] = chosen
            return chosen

    def _lost(self, call: ProviderCall, address: str) -> V2SError:
        return V2SError(f"migration host {self._label(address)} was lost; this migration's "
                        "work there is interrupted (its record stays tainted with its last "
                        "checkpoint)",
                        address=call.request.address,
                        hint="run `v2s apply` again: it resumes on a live host")

    # --- calls -------------------------------------------------------------------------

    def run(self, call: ProviderCall, provider: Provider,
            ctx: ApplyContext) -> ApplyResponse | DeleteResponse:
        if call.kind not in self.remote_kinds:
            return invoke(call, provider, ctx)
        block = self.blocks.get(call.provider)
        if block is None:
            raise V2SError(f"provider {call.provider!r} is not configured",
                           address=call.request.address)
        address = self._pin(call)
        with self._lock:
            self._busy[address] += 1
        held = self._hold(address, call, ctx)
        verb = "apply" if isinstance(call.request, ApplyRequest) else "delete"
        key = f"v2s-{verb}-{safe_name(call.request.address, 40)}-{uuid.uuid4().hex[:8]}"
        inbox: queue.Queue[dict[str, Any]] = queue.Queue()
        with self._lock:
            self._inboxes[key] = inbox
        spec = TaskSpec(call=call, block=block, lineage=self.lineage, operation=ctx.operation,
                        topic=self.topic, cancel_event=f"v2s-cancel-{self.run_id}")
        try:
            future = self.client.submit(run_task, spec, key=key, workers=[address],
                                        allow_other_workers=False, pure=False, retries=0,
                                        resources=self._needs(call))
            with self._lock:
                self._futures[key] = future
            future.add_done_callback(lambda _: inbox.put({"t": "done"}))  # wake the waiter
            return self._wait(future, inbox, address, call, ctx)
        finally:
            for sem in held:
                sem.release()
            with self._lock:
                self._inboxes.pop(key, None)
                self._futures.pop(key, None)
                self._busy[address] -= 1

    def _hold(self, address: str, call: ProviderCall,
              ctx: ApplyContext) -> list[threading.Semaphore]:
        """Take the host's capacity for this call here, so Dask never queues it there."""
        held: list[threading.Semaphore] = []
        try:
            for name in self._needs(call):
                sem = self._capacity[address][name]
                while not sem.acquire(timeout=POLL):
                    if ctx.cancelled.is_set() or self._stopping.is_set():
                        raise ProviderError(f"not started: interrupted while waiting for "
                                            f"capacity on {self._label(address)}",
                                            address=call.request.address,
                                            hint="run `v2s apply` again to do it")
                    with self._lock:
                        if address not in self._alive:
                            raise self._lost(call, address)
                held.append(sem)
        except BaseException:
            for sem in held:
                sem.release()
            with self._lock:
                self._busy[address] -= 1
            raise
        return held

    def _needs(self, call: ProviderCall) -> dict[str, float]:
        """Capacity a call takes: applies move data; deleting an artifact does not."""
        if not isinstance(call.request, ApplyRequest):
            return {}
        return {ATTACH_SLOTS: 1, CONVERT: 1} if call.kind == "convert" else {ATTACH_SLOTS: 1}

    def _wait(self, future: Future[Any], inbox: queue.Queue[dict[str, Any]], address: str,
              call: ProviderCall, ctx: ApplyContext) -> ApplyResponse | DeleteResponse:
        applied = 0
        cancelled_at: float | None = None
        while not future.done():
            applied += _apply_events(inbox, ctx, POLL)
            if ctx.cancelled.is_set():
                self._signal_cancel()
                cancelled_at = cancelled_at or time.monotonic()
                if time.monotonic() - cancelled_at > self.cancel_grace:
                    future.cancel()
                    raise ProviderError(f"cancelled; the task on {address} did not stop within "
                                        f"{self.cancel_grace:g} s", address=call.request.address)
            with self._lock:
                alive = address in self._alive
            if not alive and not future.done():
                future.cancel()
                raise self._lost(call, address)
        try:
            result = future.result()
        except Exception as exc:  # KilledWorker, CancelledError, a lost scheduler ...
            with self._lock:
                alive = address in self._alive
            if not alive or type(exc).__name__ == "KilledWorker":
                raise self._lost(call, address) from None
            raise ProviderError(f"the task on {address} failed: {type(exc).__name__}: {exc}",
                                address=call.request.address) from None
        assert isinstance(result, TaskResult)
        deadline = time.monotonic() + DRAIN
        while applied < result.events and time.monotonic() < deadline:
            applied += _apply_events(inbox, ctx, POLL)
        if result.error is not None:
            raise result.error.exception(self._label(address))
        assert result.response is not None
        return result.response

    def stop_starting(self) -> None:
        self._stopping.set()

    def _label(self, address: str) -> str:
        host = self.hosts.get(address)
        return host.label() if host else address

    def _signal_cancel(self) -> None:
        with self._lock:
            if self._cancel_sent:
                return
            self._cancel_sent = True
        self._cancel.set()

    def _on_event(self, event: tuple[float, dict[str, Any]]) -> None:
        """Runs on the client's event loop: hand the event to its call's waiting thread."""
        msg = event[1]
        with self._lock:
            inbox = self._inboxes.get(str(msg.get("k")))
        if inbox is not None:
            inbox.put(msg)

    def close(self) -> None:
        """Cancel what is still submitted, stop listening, disconnect; idempotent."""
        if self._closed.is_set():
            return
        self._closed.set()
        with self._lock:
            futures = list(self._futures.values())
        if futures:
            self._signal_cancel()
            self.client.cancel(futures)
        try:
            self.client.unsubscribe_topic(self.topic)
        finally:
            self.client.close()


def _capacity(host: HostFacts) -> dict[str, threading.Semaphore]:
    return {name: threading.Semaphore(max(1, int(host.resources.get(name, 1))))
            for name in (ATTACH_SLOTS, CONVERT)}


def _apply_events(inbox: queue.Queue[dict[str, Any]], ctx: ApplyContext,
                  timeout: float) -> int:
    """Apply the events waiting in ``inbox`` (waiting up to ``timeout`` for the first)."""
    count = 0
    try:
        msg = inbox.get(timeout=timeout)
    except queue.Empty:
        return 0
    while True:
        if msg.get("t") == "done":
            count -= 1  # not an event of the task: only wakes the waiting thread
        elif msg.get("t") == "checkpoint":
            ctx.checkpoint(dict(msg.get("data") or {}))
        else:
            ctx.progress(str(msg.get("phase", "")), done=msg.get("done"),
                         total=msg.get("total"), message=str(msg.get("message", "")))
        count += 1
        try:
            msg = inbox.get_nowait()
        except queue.Empty:
            return count


def check_hosts(hosts: Iterable[HostFacts], demands: Mapping[str, str], where: str) -> None:
    """Refuse a wave the hosts cannot serve; ``demands``: migration -> target zone."""
    if not demands:
        return
    hosts = list(hosts)
    if not hosts:
        raise ConfigError(f"no v2s migration host is connected to the Dask scheduler {where}",
                          hint=f"start `v2s worker --scheduler {where}` on each migration "
                          "host (docs/dask.md)")
    unfit = [h for h in hosts
             if h.resources.get(ATTACH_SLOTS, 0) < 1 or h.resources.get(CONVERT, 0) < 1]
    if unfit:
        names = ", ".join(f"{h.label()} has {ATTACH_SLOTS}="
                          f"{h.resources.get(ATTACH_SLOTS, 0):g} {CONVERT}="
                          f"{h.resources.get(CONVERT, 0):g}" for h in unfit)
        raise ConfigError(f"migration hosts that cannot take a migration: {names}",
                          hint="restart them with `v2s worker --attach-slots N --convert N` "
                          "(N >= 1), or stop them")
    have = {h.zone for h in hosts}
    missing: dict[str, list[str]] = {}
    for migration, zone in sorted(demands.items()):
        if zone not in have:
            missing.setdefault(zone, []).append(migration)
    if missing:
        lines = "; ".join(f"zone {z}: {', '.join(ms[:5])}{' ...' if len(ms) > 5 else ''}"
                          for z, ms in sorted(missing.items()))
        raise ConfigError(f"no migration host in the target zone of: {lines} "
                          f"(hosts are in {', '.join(sorted(have))})",
                          hint="start `v2s worker` on an Instance in that zone, or change "
                          "the migration's target.zone")
