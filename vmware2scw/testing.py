"""Test doubles beside the provider protocol: a recording ApplyContext and a recording
provider, for tests of providers (without the walker) and of the engine."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from vmware2scw.provider import (
    ApplyContext,
    ApplyRequest,
    ApplyResponse,
    Attrs,
    Blueprint,
    ComposeRequest,
    ComposeResponse,
    ConfigureRequest,
    ConfigureResponse,
    DeleteRequest,
    DeleteResponse,
    PlanRequest,
    PlanResponse,
    Provider,
    ReadRequest,
    ReadResponse,
    ResourceType,
    lineage_tags,
)

LINEAGE = "11111111-2222-3333-4444-555555555555"
Progress = tuple[str, int | None, int | None, str]  # phase, done, total, message


class RecordingContext:
    """An ApplyContext that records progress and checkpoints (thread-safe).

    ``checkpoint_file`` also persists each checkpoint (atomically), for tests that kill
    the process; ``on_progress(ctx, phase, done, total)`` lets a test act mid-operation.
    """

    def __init__(self, address: str, work_dir: Path | None = None, *, lineage: str = LINEAGE,
                 operation: str = "apply", checkpoint_file: Path | None = None) -> None:
        self.address = address
        self.lineage = lineage
        self.work_dir = work_dir or Path("/tmp")
        self.operation = operation
        self.cancelled = threading.Event()
        self.events: list[Progress] = []
        self.checkpoints: list[Attrs] = []
        self.checkpoint_file = checkpoint_file
        self.on_progress: Callable[[RecordingContext, str, int | None, int | None], None] | None
        self.on_progress = None
        self._lock = threading.Lock()

    @property
    def tags(self) -> tuple[str, ...]:
        return lineage_tags(self.lineage, self.address)

    def progress(self, phase: str, done: int | None = None, total: int | None = None,
                 message: str = "") -> None:
        with self._lock:
            self.events.append((phase, done, total, message))
        if self.on_progress is not None:
            self.on_progress(self, phase, done, total)

    def checkpoint(self, data: Attrs) -> None:
        with self._lock:
            self.checkpoints.append(json.loads(json.dumps(data)))
            if self.checkpoint_file is not None:
                tmp = self.checkpoint_file.with_suffix(".tmp")
                tmp.write_text(json.dumps(data))
                tmp.replace(self.checkpoint_file)

    @property
    def last_checkpoint(self) -> Attrs | None:
        return self.checkpoints[-1] if self.checkpoints else None


class RecordingProvider:
    """Wraps a provider and records every call as (verb, address), in order."""

    def __init__(self, inner: Provider) -> None:
        self.inner = inner
        self.name = inner.name
        self.settings_model = inner.settings_model
        self.roles = inner.roles
        self.calls: list[tuple[str, str]] = []
        self._lock = threading.Lock()

    def _record(self, verb: str, address: str = "") -> None:
        with self._lock:
            self.calls.append((verb, address))

    def resource_types(self) -> Mapping[str, ResourceType]:
        return self.inner.resource_types()

    def blueprints(self) -> tuple[Blueprint, ...]:
        return self.inner.blueprints()

    def compose(self, req: ComposeRequest) -> ComposeResponse:
        self._record("compose", req.module)
        return self.inner.compose(req)

    def configure(self, req: ConfigureRequest) -> ConfigureResponse:
        self._record("configure")
        return self.inner.configure(req)

    def read(self, req: ReadRequest) -> ReadResponse:
        for ref in req.resources:
            self._record("read", ref.address)
        return self.inner.read(req)

    def plan(self, req: PlanRequest) -> PlanResponse:
        self._record("plan", req.address)
        return self.inner.plan(req)

    def apply(self, req: ApplyRequest, ctx: ApplyContext) -> ApplyResponse:
        self._record("apply", req.address)
        return self.inner.apply(req, ctx)

    def delete(self, req: DeleteRequest, ctx: ApplyContext) -> DeleteResponse:
        self._record("delete", req.address)
        return self.inner.delete(req, ctx)

    def close(self) -> None:
        self._record("close")
        self.inner.close()

    def verbs(self, verb: str) -> list[str]:
        """The addresses of one kind of call, in order."""
        return [a for v, a in self.calls if v == verb]

    def __getattr__(self, name: str) -> Any:  # optional protocols (inventory, catalogue)
        return getattr(self.inner, name)
