"""Polling until an asynchronous Scaleway object settles, with a deadline and cancellation."""

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
    sleep: Callable[[float], None] | None = None,
) -> T:
    """Fetch until ``settled``; TransientError on timeout or cancel (the object stays tagged)."""
    deadline = time.monotonic() + timeout
    start = time.monotonic()
    while True:
        obj = fetch()
        if settled(obj):
            return obj
        now = time.monotonic()
        # no done/total here: the walker reads those as bytes
        ctx.progress(phase, message=f"{what}: {describe(obj)} ({now - start:.0f} s)")
        if now >= deadline:
            raise TransientError(
                f"{what} still {describe(obj) or 'not ready'} after {timeout:.0f} s",
                address=ctx.address,
                hint="run apply again later: the object is adopted by its tags and waited for",
            )
        if ctx.cancelled.is_set():
            raise TransientError(f"cancelled while waiting for {what}", address=ctx.address)
        step = min(interval, max(0.0, deadline - now))
        if sleep is not None:
            sleep(step)
        else:
            ctx.cancelled.wait(step)
