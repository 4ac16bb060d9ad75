"""What a walk takes and gives: options, the state sink it writes through, the result."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field

from vmware2scw.desired import Desired
from vmware2scw.diagnostics import Diagnostic, has_errors
from vmware2scw.progress import Sink, null_sink
from vmware2scw.retry import RetryPolicy
from vmware2scw.state.model import State
from vmware2scw.walker.executor import Executor, LocalExecutor


class StateSink(Protocol):
    """What the walker needs from a state manager (E2's StateManager): state and update."""

    @property
    def state(self) -> State: ...

    def update(self, change: Callable[[State], State]) -> State: ...


class WalkOptions(BaseModel):
    """How to walk: concurrency, retries, events, and where secrets come from."""

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)
    parallelism: int = Field(default=10, ge=1)
    limits: dict[str, int] = Field(default_factory=dict)  # per ResourceType.kind
    max_attempts: int = Field(default=8, ge=1)  # these four make the RetryPolicy
    backoff_base: float = 1.0  # seconds; doubles per attempt, with jitter
    backoff_cap: float = 30.0
    retry_deadline: float = Field(default=900.0, gt=0)  # seconds from a node's first try
    work_dir: Path = Path(".v2s")
    desired: Desired | None = None  # sensitive attribute values are taken from here
    on_event: Sink = null_sink
    handle_sigint: bool = True  # install the two-stage Ctrl-C handler (main thread only)
    executor: Executor = Field(default_factory=LocalExecutor)  # where provider calls run

    @property
    def retry(self) -> RetryPolicy:
        """The retry policy these options describe."""
        return RetryPolicy(max_attempts=self.max_attempts, base=self.backoff_base,
                           cap=self.backoff_cap, deadline=self.retry_deadline)


class Outcome(BaseModel):
    """What happened to one node of the walk (for the run report)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    address: str
    operation: str  # apply | delete | cleanup
    action: str
    status: str  # ok | failed | skipped | not-started | cancelled
    seconds: float = 0.0
    attempts: int = 0
    bytes: int = 0
    message: str = ""


class WalkResult(BaseModel):
    """Per-node outcomes, diagnostics and how the walk ended."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    outcomes: tuple[Outcome, ...] = ()
    diagnostics: tuple[Diagnostic, ...] = ()
    interrupted: bool = False
    cancelled: bool = False
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """True when every node succeeded, nothing was interrupted and no error was reported."""
        return (not self.interrupted and all(o.status == "ok" for o in self.outcomes)
                and not has_errors(self.diagnostics))

    def count(self, status: str) -> int:
        """Number of nodes with that status."""
        return sum(1 for o in self.outcomes if o.status == status)


