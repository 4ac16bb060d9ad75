"""The one retry policy: backoff with jitter, the provider's hint honoured, bounded."""

from __future__ import annotations

import random
import threading
from pathlib import Path

import pytest

from tests.walker.helpers import MemoryStateManager, chain, change, make_provider, plan_of
from vmware2scw.errors import ProviderError, TransientError
from vmware2scw.progress import Event, EventKind
from vmware2scw.retry import RetryPolicy
from vmware2scw.walker import WalkOptions, walk

SERVER = "migration.a.scw_server"


def opts(tmp_path: Path, **kw: object) -> WalkOptions:
    kw.setdefault("backoff_base", 0.001)
    return WalkOptions(work_dir=tmp_path / "work", handle_sigint=False, **kw)  # type: ignore[arg-type]


def test_backoff_doubles_to_the_cap_with_jitter() -> None:
    p = RetryPolicy(base=1.0, cap=8.0, max_attempts=10, deadline=1e6)
    rng = random.Random(1)
    for attempt, ceiling in ((1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (9, 8.0)):
        waits = [p.backoff(attempt, rng) for _ in range(200)]
        assert all(ceiling / 2 <= w <= ceiling for w in waits)
        assert max(waits) - min(waits) > ceiling / 4  # jittered, not one fixed value


def test_a_hint_is_a_floor_and_the_limits_end_retries() -> None:
    p = RetryPolicy(base=1.0, cap=8.0, max_attempts=3, deadline=60.0)
    assert p.next_wait(1, 0.0, hint=20.0) == 20.0  # the service asked: more than the cap
    assert 0.5 <= (p.next_wait(1, 0.0, hint=0.1) or 0) <= 1.0  # a short hint: backoff rules
    assert p.next_wait(3, 0.0) is None  # three tries made
    assert p.next_wait(1, 50.0, hint=20.0) is None  # the wait would end past the deadline


def test_walker_waits_as_long_as_the_hint_asks(tmp_path: Path) -> None:
    prov = make_provider(tmp_path, transient_failures={SERVER: 1}, retry_after=0.3)
    events: list[Event] = []
    result = walk(plan_of([change(SERVER, "scw_server")]), MemoryStateManager(),
                  {"test": prov}, opts(tmp_path, on_event=events.append))
    assert result.ok, result.diagnostics
    assert [o.attempts for o in result.outcomes] == [2]
    retry = next(e for e in events if e.kind is EventKind.RETRY)
    done = next(e for e in events if e.kind is EventKind.DONE)
    assert "attempt 2 of 8 in 0.3 s (as the service asked)" in retry.message
    assert done.time - retry.time >= 0.3  # the backoff alone (base 1 ms) would not wait


def test_walker_gives_up_at_the_attempt_limit_and_at_the_deadline(tmp_path: Path) -> None:
    prov = make_provider(tmp_path, transient_failures={"*": 99})
    result = walk(plan_of([change(SERVER, "scw_server")]), MemoryStateManager(),
                  {"test": prov}, opts(tmp_path, max_attempts=3))
    assert [(o.status, o.attempts) for o in result.outcomes] == [("failed", 3)]
    assert "gave up after 3 attempts" in result.diagnostics[-1].detail
    assert prov.calls.count(("apply", SERVER)) == 3

    prov = make_provider(tmp_path, transient_failures={"*": 99}, retry_after=3600.0)
    result = walk(plan_of([change(SERVER, "scw_server")]), MemoryStateManager(),
                  {"test": prov}, opts(tmp_path, retry_deadline=60.0))
    assert [(o.status, o.attempts) for o in result.outcomes] == [("failed", 1)]
    assert result.seconds < 60  # refused to start a wait that would end past the deadline


def test_a_permanent_error_is_never_retried(tmp_path: Path) -> None:
    prov = make_provider(tmp_path, fail=["*.scw_image"], transient_failures={"*.scw_image": 5})
    events: list[Event] = []
    result = walk(plan_of(chain("a")), MemoryStateManager(), {"test": prov},
                  opts(tmp_path, on_event=events.append))
    image = next(o for o in result.outcomes if o.address == "migration.a.scw_image")
    assert (image.status, image.attempts) == ("failed", 1)
    assert not [e for e in events if e.kind is EventKind.RETRY]


def test_call_retries_transient_failures_then_gives_up_or_stops_on_cancel() -> None:
    p = RetryPolicy(base=0.001, cap=0.01, max_attempts=4)
    tries: list[int] = []

    def flaky() -> str:
        tries.append(1)
        if len(tries) < 3:
            raise TransientError("HTTP 503", retry_after=0.001)
        return "read"

    assert p.call(flaky, "refresh") == "read" and len(tries) == 3
    tries.clear()

    def down() -> str:
        tries.append(1)
        raise TransientError("HTTP 503")

    with pytest.raises(TransientError):
        p.call(down, "refresh")
    assert len(tries) == 4
    tries.clear()
    stop = threading.Event()
    stop.set()
    with pytest.raises(TransientError):
        p.call(down, "refresh", cancelled=stop)
    assert len(tries) == 1
    with pytest.raises(ProviderError):  # not transient: never retried
        p.call(lambda: (_ for _ in ()).throw(ProviderError("bad request")), "refresh")
