"""Where the walker's provider calls run: in this process (default) or on workers.

The walker keeps scheduling, state and events; an :class:`Executor` only runs one
provider verb for one node and returns its response. Implementations relay progress
and checkpoints through ``ctx`` as they come, so the walker records them as local work.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict

from vmware2scw.provider import (
    ApplyContext,
    ApplyRequest,
    ApplyResponse,
    DeleteRequest,
    DeleteResponse,
    Provider,
)


class ProviderCall(BaseModel):
    """One provider verb of one node (the request's type says which), with what placing
    it needs: the resource kind and the migration it belongs to."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    provider: str  # local name under `providers:`
    kind: str  # ResourceType.kind (export | convert | upload | api | ...)
    migration: str = ""
    request: ApplyRequest | DeleteRequest


@runtime_checkable
class Executor(Protocol):
    """Runs provider calls; raises what the provider raised (V2SError and subclasses)."""

    def place(self, call: ProviderCall) -> str:
        """The host ``call`` will run on ("" for this process), recorded in state."""
        ...

    def run(self, call: ProviderCall, provider: Provider,
            ctx: ApplyContext) -> ApplyResponse | DeleteResponse:
        """Run ``call`` (``provider`` is the coordinator's configured instance)."""
        ...

    def stop_starting(self) -> None:
        """First Ctrl-C: calls not started yet (e.g. queued for capacity) must not start;
        called from a signal handler, so it only sets a flag."""
        ...

    def close(self) -> None:
        """Stop whatever still runs and release connections; idempotent."""
        ...


class LocalExecutor:
    """The default: the call runs here, on the walker's own thread."""

    def place(self, call: ProviderCall) -> str:
        return ""

    def run(self, call: ProviderCall, provider: Provider,
            ctx: ApplyContext) -> ApplyResponse | DeleteResponse:
        return invoke(call, provider, ctx)

    def stop_starting(self) -> None:
        return None  # the walker's own scheduling stops; nothing queues here

    def close(self) -> None:
        return None


def invoke(call: ProviderCall, provider: Provider,
           ctx: ApplyContext) -> ApplyResponse | DeleteResponse:
    """Call the provider verb of ``call`` (shared by every executor, local or remote)."""
    if isinstance(call.request, ApplyRequest):
        return provider.apply(call.request, ctx)
    return provider.delete(call.request, ctx)
