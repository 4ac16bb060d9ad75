"""What runs on a worker: one provider call, its context, and its outcome sent back.

The worker never touches state: progress and checkpoints go to the coordinator as
ordered events (``log_event`` on the run's topic), the result carries how many were
sent, and the coordinator records them. Cancellation: the run's distributed Event, or
the coordinator letting go of the task (e.g. it died), sets ``ctx.cancelled``.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from pathlib import Path
from typing import Any, Literal

from distributed import Event, get_client, get_worker, secede
from pydantic import BaseModel, ConfigDict

from vmware2scw.cluster.host import PLUGIN_NAME, MigrationHost
from vmware2scw.desired import ProviderBlock
from vmware2scw.errors import ProviderError, TransientError, V2SError
from vmware2scw.provider import ApplyResponse, Attrs, DeleteResponse, Provider, lineage_tags
from vmware2scw.registry import Registry
from vmware2scw.walker.executor import ProviderCall, invoke
from vmware2scw.workdir import resource_dir

POLL = 0.5  # seconds between cancellation checks


class TaskSpec(BaseModel):
    """Everything a worker needs for one call (the block may hold secrets: TLS only)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    call: ProviderCall
    block: ProviderBlock
    lineage: str
    operation: str
    topic: str  # the run's event topic
    cancel_event: str  # the run's distributed Event name


class TaskError(BaseModel):
    """A provider exception, carried back as data (never a pickled traceback)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    kind: Literal["transient", "provider", "v2s", "other"]
    message: str
    address: str | None = None
    hint: str | None = None
    retry_after: float | None = None  # of a TransientError: the service's hint

    @classmethod
    def of(cls, exc: BaseException) -> TaskError:
        if isinstance(exc, V2SError):
            kind: Literal["transient", "provider", "v2s", "other"] = (
                "transient" if isinstance(exc, TransientError)
                else "provider" if isinstance(exc, ProviderError) else "v2s")
            retry_after = exc.retry_after if isinstance(exc, TransientError) else None
            return cls(kind=kind, message=exc.message, address=exc.address, hint=exc.hint,
                       retry_after=retry_after)
        return cls(kind="other", message=f"{type(exc).__name__}: {exc}")

    def exception(self, where: str) -> V2SError:
        """The exception to raise on the coordinator (``where`` names the worker)."""
        if self.kind == "transient":
            return TransientError(self.message, address=self.address, hint=self.hint,
                                  retry_after=self.retry_after)
        if self.kind == "other":
            return ProviderError(f"{self.message} (on {where})", address=self.address,
                                 hint="unexpected provider error on the worker")
        cls = ProviderError if self.kind == "provider" else V2SError
        return cls(self.message, address=self.address, hint=self.hint)


class TaskResult(BaseModel):
    """What a task returns: the response or the error, and how many events it sent."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    response: ApplyResponse | DeleteResponse | None = None
    error: TaskError | None = None
    events: int = 0
    worker: str = ""


class RemoteContext:
    """The ApplyContext a provider gets on a worker: events go to the coordinator."""

    def __init__(self, spec: TaskSpec, work_dir: Path, key: str, worker: Any) -> None:
        self.address = spec.call.request.address
        self.lineage = spec.lineage
        self.work_dir = work_dir
        self.operation = spec.operation
        self.cancelled = threading.Event()
        self._spec = spec
        self._key = key
        self._worker = worker
        self._lock = threading.Lock()
        self.sent = 0

    @property
    def tags(self) -> tuple[str, ...]:
        return lineage_tags(self.lineage, self.address)

    def progress(self, phase: str, done: int | None = None, total: int | None = None,
                 message: str = "") -> None:
        self._send({"t": "progress", "phase": phase, "done": done, "total": total,
                    "message": message})

    def checkpoint(self, data: Attrs) -> None:
        self._send({"t": "checkpoint", "data": json.loads(json.dumps(data, default=str))})

    def _send(self, body: dict[str, Any]) -> None:
        with self._lock:  # numbered in order of sending; the coordinator applies in order
            self.sent += 1
            self._worker.log_event(self._spec.topic, {"k": self._key, "n": self.sent, **body})


_providers: dict[tuple[str, str, str], Provider] = {}
_providers_lock = threading.Lock()


def _provider(block: ProviderBlock, lineage: str, work_dir: Path) -> Provider:
    """This worker's configured instance of ``block`` (configured once per settings)."""
    digest = hashlib.sha256(json.dumps(block.settings, sort_keys=True, default=str).encode())
    key = (lineage, block.local_name, f"{block.source}:{digest.hexdigest()}")
    with _providers_lock:
        if key not in _providers:
            _providers[key] = Registry(lineage, work_dir).get(block)
        return _providers[key]


def close_providers() -> None:
    """Close this worker's configured providers (log out); when the worker stops."""
    with _providers_lock:
        providers = list(_providers.values())
        _providers.clear()
    for provider in providers:
        try:
            provider.close()
        except Exception:  # noqa: S112 - closing is best effort
            continue


def run_task(spec: TaskSpec) -> TaskResult:
    """The Dask task: run one provider call on this migration host."""
    worker = get_worker()
    key = str(worker.get_current_task())
    client = get_client()  # here: it needs the task's thread
    secede()  # a task of hours holds no thread slot; capacity is the host's resources
    plugin = worker.plugins.get(PLUGIN_NAME)
    if not isinstance(plugin, MigrationHost):
        return TaskResult(error=TaskError(kind="v2s", message=f"worker {worker.address} is "
                                          "not a v2s migration host"), worker=worker.address)
    base = Path(plugin.facts.work_dir) / spec.lineage
    ctx = RemoteContext(spec, resource_dir(base, spec.call.request.address), key, worker)
    watch = _RunWatch.join(spec.cancel_event, client, worker, key, ctx.cancelled)
    try:
        provider = _provider(spec.block, spec.lineage, base)
        response = invoke(spec.call, provider, ctx)
        return TaskResult(response=response, events=ctx.sent, worker=worker.address)
    except Exception as exc:
        return TaskResult(error=TaskError.of(exc), events=ctx.sent, worker=worker.address)
    finally:
        watch.remove(key)


class _RunWatch:
    """One thread per run and worker process: sets a task's ``cancelled`` when the run's
    Event is set or the coordinator let go of the task (one scheduler call per POLL)."""

    _runs: dict[str, _RunWatch] = {}
    _runs_lock = threading.Lock()

    def __init__(self, name: str, client: Any, worker: Any) -> None:
        self.name = name
        self.event = Event(name, client=client)
        self.worker = worker
        self.tasks: dict[str, threading.Event] = {}
        self.cancelled = False

    @classmethod
    def join(cls, name: str, client: Any, worker: Any, key: str,
             flag: threading.Event) -> _RunWatch:
        """Watch task ``key`` for run ``name`` (registered atomically with the lookup)."""
        with cls._runs_lock:
            watch = cls._runs.get(name)
            start = watch is None
            if watch is None:
                watch = cls._runs[name] = cls(name, client, worker)
            watch.tasks[key] = flag
            if watch.cancelled:
                flag.set()
        if start:
            threading.Thread(target=watch._loop, name=f"v2s-{name}", daemon=True).start()
        return watch

    def remove(self, key: str) -> None:
        with self._runs_lock:
            self.tasks.pop(key, None)

    def _loop(self) -> None:
        while True:
            with self._runs_lock:
                if not self.tasks:  # nothing of the run left here: its next task here
                    self._runs.pop(self.name, None)  # starts a new watch
                    return
                tasks = dict(self.tasks)
            for key, flag in tasks.items():
                ts = self.worker.state.tasks.get(key)
                if ts is None or ts.state in ("cancelled", "released", "forgotten"):
                    flag.set()
            try:
                fired = bool(self.event.wait(timeout=POLL))
            except Exception:  # scheduler unreachable: the task-state check decides
                fired = False
                time.sleep(POLL)
            if fired:
                with self._runs_lock:
                    self.cancelled = True
                    for flag in self.tasks.values():
                        flag.set()
