"""Progress events: throughput and ETA, plain lines (throttled), JSON lines, rich live."""

from __future__ import annotations

import io
import json

from rich.console import Console

from vmware2scw.progress import (
    Event,
    EventKind,
    JsonRenderer,
    PlainRenderer,
    RichRenderer,
    Tracker,
    human_bytes,
)

A = "migration.a.disk_export[0]"
GiB = 2**30


def ev(kind: EventKind, t: float, done: int | None = None, total: int | None = None,
       **kw: str) -> Event:
    return Event(kind=kind, address=A, operation="apply", time=t, done=done, total=total, **kw)


def test_tracker_computes_throughput_and_eta() -> None:
    tr = Tracker()
    tr.update(ev(EventKind.START, 100.0))
    tr.update(ev(EventKind.PROGRESS, 110.0, done=GiB, total=4 * GiB, phase="copy"))
    text = tr.describe(A, 110.0)
    assert text == "1.0 GiB/4.0 GiB 102.4 MiB/s ETA 30s"


def test_human_bytes() -> None:
    assert [human_bytes(n) for n in (0, 1536, 5 * 2**40)] == ["0 B", "1.5 KiB", "5.0 TiB"]


def test_plain_renderer_throttles_progress_but_not_outcomes() -> None:
    out = io.StringIO()
    r = PlainRenderer(out, every=2.0)
    r(ev(EventKind.START, 0.0))
    for i in range(1, 11):  # ten progress events in one second
        r(ev(EventKind.PROGRESS, i / 10, done=i * 2**20, total=10 * 2**20, phase="copy"))
    r(ev(EventKind.DONE, 1.1))
    lines = out.getvalue().splitlines()
    assert lines[0] == f"{A}: apply start"
    assert len([line for line in lines if "progress" in line]) == 1
    assert lines[-1].startswith(f"{A}: apply done")


def test_json_renderer_writes_one_object_per_event() -> None:
    out = io.StringIO()
    r = JsonRenderer(out)
    r(ev(EventKind.START, 1.0))
    r(ev(EventKind.PROGRESS, 2.0, done=5, total=10))
    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [row["kind"] for row in rows] == ["start", "progress"]
    assert rows[1]["done"] == 5 and rows[1]["type"] == "event"


def test_rich_renderer_prints_outcomes_on_a_terminal() -> None:
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=120, no_color=True)
    with RichRenderer(console) as r:
        r(ev(EventKind.START, 1.0))
        r(ev(EventKind.PROGRESS, 2.0, done=GiB, total=2 * GiB, phase="copy"))
        assert A in r.running
        r(ev(EventKind.RETRY, 2.5, message="HTTP 503 [busy]; attempt 2 of 8 in 1.5 s"))
        r(ev(EventKind.FAILED, 3.0, message="boom"))
        assert A not in r.running
    assert f"{A}: apply failed" in out.getvalue() and "boom" in out.getvalue()
    assert f"{A}: apply retry: HTTP 503 [busy]; attempt 2 of 8 in 1.5 s" in out.getvalue()
