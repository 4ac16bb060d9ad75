"""The one retry policy (DESIGN §7, §12): what the walker does with a ``TransientError``.

Backoff doubles from ``base`` to ``cap`` with equal jitter (half fixed, half random); a
provider's ``retry_after`` hint is a floor. No try starts after ``max_attempts`` tries or
once the next wait would end past ``deadline`` seconds from the first try.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, Field

from vmware2scw.errors import TransientError

T = TypeVar("T")
log = logging.getLogger("v2s.retry")


class RetryPolicy(BaseModel):
    """How often and how long to retry one resource's transient failures."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    max_attempts: int = Field(default=8, ge=1)
    base: float = Field(default=1.0, ge=0)  # seconds before the second try
    cap: float = Field(default=30.0, ge=0)  # the longest backoff (a hint may ask for more)
    deadline: float = Field(default=900.0, gt=0)  # seconds from the first try

    def backoff(self, attempt: int, rng: random.Random | None = None) -> float:
        """Seconds to wait after try number ``attempt`` (1-based) failed, hint aside."""
        ceiling = min(self.cap, self.base * 2.0 ** (attempt - 1))
        return ceiling / 2 + (rng.uniform if rng else random.uniform)(0, ceiling / 2)

    def next_wait(self, attempt: int, elapsed: float, hint: float | None = None,
                  rng: random.Random | None = None) -> float | None:
        """The wait before try ``attempt + 1``, or None when the policy gives up."""
        if attempt >= self.max_attempts:
            return None
        wait = max(self.backoff(attempt, rng), hint or 0.0)
        return None if elapsed + wait > self.deadline else wait

    def call(self, fn: Callable[[], T], what: str,
             cancelled: threading.Event | None = None) -> T:
        """``fn()``, retried on TransientError as this policy says (outside the walker)."""
        first, attempt = time.monotonic(), 0
        stop = cancelled or threading.Event()
        while True:
            attempt += 1
            try:
                return fn()
            except TransientError as exc:
                wait = self.next_wait(attempt, time.monotonic() - first, exc.retry_after)
                if wait is None:
                    raise
                log.warning("%s: %s; attempt %d of %d in %.1f s", what, exc.message,
                            attempt + 1, self.max_attempts, wait)
                if stop.wait(wait):
                    raise
