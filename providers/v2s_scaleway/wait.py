"""Polling until an asynchronous Scaleway object settles, with a deadline and cancellation.

A poll that fails transiently (429, 5xx, reset) is a missed poll, not a failure: the next
one comes after the interval (or the service's Retry-After); the deadline still holds.
The wait is ``ctx.cancelled.wait``, so a second Ctrl-C ends it at once.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from vmware2scw.errors import TransientError
from vmware2scw.provider import ApplyContext

T = TypeVar("T")


def wait_for(
    fetch: Callable[[], T],
    settled: Callable[[T], bool],
    *,
    ctx: ApplyContext,
    what: str,
    timeout: float,
    interval: float,
    phase: str = "wait",
    describe: Callable[[T], str] = lambda _o: "",
) -> T:
    """Fetch until ``settled``; TransientError on timeout or cancel (the object stays tagged)."""
    start = time.monotonic()
    deadline = start + timeout
    while True:
        step, state = interval, "not ready"
        try:
            obj = fetch()
        except TransientError as exc:  # a missed poll: the object is as it was
            step = max(interval, exc.retry_after or 0.0)
            state = f"not read ({exc.message})"
        else:
            if settled(obj):
                return obj
            state = describe(obj) or state
        now = time.monotonic()
        # no done/total here: the walker reads those as bytes
        ctx.progress(phase, message=f"{what}: {state} ({now - start:.0f} s)")
        if now >= deadline:
            raise TransientError(
                f"{what} still {state} after {timeout:.0f} s", address=ctx.address,
                hint="run apply again later: the object is adopted by its tags and waited for",
            )
        if ctx.cancelled.wait(min(step, max(0.0, deadline - now))):
            raise TransientError(f"cancelled while waiting for {what}", address=ctx.address)
