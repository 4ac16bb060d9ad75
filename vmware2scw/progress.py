"""Progress events of a run and their renderers: rich live, plain lines, JSON lines.

The walker emits :class:`Event`; a renderer is any callable taking one. Renderers are
thread-safe (events come from worker threads) and never raise into the walker.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import IO, Any

from pydantic import BaseModel, ConfigDict


class EventKind(StrEnum):
    """What happened to one resource operation."""

    START = "start"
    PROGRESS = "progress"
    RETRY = "retry"
    DONE = "done"
    FAILED = "failed"
    SKIPPED = "skipped"
    MESSAGE = "message"


class Event(BaseModel):
    """One progress event; ``done``/``total`` are bytes when the provider reports bytes."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    kind: EventKind
    address: str = ""
    operation: str = ""  # apply | delete | cleanup
    phase: str = ""
    done: int | None = None
    total: int | None = None
    message: str = ""
    time: float = 0.0


Sink = Callable[[Event], None]


def human_bytes(n: float) -> str:
    """1536 -> '1.5 KiB'."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"


@dataclass
class _Track:
    started: float
    phase: str = ""
    done: int = 0
    total: int | None = None
    first_done: tuple[float, int] | None = None

    def rate(self, now: float) -> float | None:
        if self.first_done is None or now <= self.first_done[0]:
            return None
        return (self.done - self.first_done[1]) / (now - self.first_done[0])

    def eta(self, now: float) -> float | None:
        rate = self.rate(now)
        if not rate or self.total is None:
            return None
        return max(0.0, (self.total - self.done) / rate)


@dataclass
class Tracker:
    """Per-address throughput and ETA from progress events."""

    tracks: dict[str, _Track] = field(default_factory=dict)

    def update(self, ev: Event) -> _Track:
        now = ev.time or time.monotonic()
        tr = self.tracks.setdefault(ev.address, _Track(started=now))
        if ev.kind is EventKind.START:
            self.tracks[ev.address] = tr = _Track(started=now)
        if ev.phase:
            tr.phase = ev.phase
        if ev.done is not None:
            if tr.first_done is None:
                tr.first_done = (tr.started, 0)
            tr.done = ev.done
        if ev.total is not None:
            tr.total = ev.total
        return tr

    def describe(self, address: str, now: float) -> str:
        tr = self.tracks.get(address)
        if tr is None or tr.total is None:
            return ""
        parts = [f"{human_bytes(tr.done)}/{human_bytes(tr.total)}"]
        rate = tr.rate(now)
        if rate:
            parts.append(f"{human_bytes(rate)}/s")
        eta = tr.eta(now)
        if eta is not None:
            parts.append(f"ETA {eta:.0f}s")
        return " ".join(parts)


class PlainRenderer:
    """One line per event (progress lines throttled per address), for logs and CI."""

    def __init__(self, stream: IO[str], *, every: float = 2.0) -> None:
        self.stream = stream
        self.every = every
        self.tracker = Tracker()
        self._last: dict[str, float] = {}
        self._lock = threading.Lock()

    def __call__(self, ev: Event) -> None:
        with self._lock:
            self.tracker.update(ev)
            now = ev.time or time.monotonic()
            if ev.kind is EventKind.PROGRESS:
                if now - self._last.get(ev.address, -1e9) < self.every:
                    return
                self._last[ev.address] = now
            text = f"{ev.address}: {ev.operation} {ev.kind.value}".strip()
            detail = " ".join(
                p for p in (ev.phase, self.tracker.describe(ev.address, now), ev.message) if p
            )
            if ev.kind is EventKind.MESSAGE:
                text = ev.message
                detail = ""
            self.stream.write(f"{text}{': ' + detail if detail else ''}\n")
            self.stream.flush()


class JsonRenderer:
    """One JSON object per line (``--json``)."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream
        self._lock = threading.Lock()

    def __call__(self, ev: Event) -> None:
        data: dict[str, Any] = {"type": "event", **ev.model_dump(exclude_none=True)}
        with self._lock:
            self.stream.write(json.dumps(data, sort_keys=True) + "\n")
            self.stream.flush()


class RichRenderer:
    """A live table on a terminal: one row per running resource (phase, bytes, rate, ETA)."""

    def __init__(self, console: Any) -> None:
        from rich.live import Live

        self.console = console
        self.tracker = Tracker()
        self.running: dict[str, str] = {}
        self._lock = threading.Lock()
        self.live = Live(self._table(), console=console, refresh_per_second=4, transient=True)

    def __enter__(self) -> RichRenderer:
        self.live.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.live.stop()

    def _table(self) -> Any:
        from rich.table import Table

        table = Table(box=None, show_header=False)
        now = time.monotonic()
        for address, operation in sorted(self.running.items()):
            tr = self.tracker.tracks.get(address)
            phase = tr.phase if tr else ""
            elapsed = f"{now - tr.started:.0f}s" if tr else ""
            table.add_row(address, operation, phase, self.tracker.describe(address, now), elapsed)
        return table

    def __call__(self, ev: Event) -> None:
        with self._lock:
            self.tracker.update(ev)
            if ev.kind is EventKind.START:
                self.running[ev.address] = ev.operation
            elif ev.kind in (EventKind.DONE, EventKind.FAILED, EventKind.SKIPPED):
                self.running.pop(ev.address, None)
                style = {"done": "green", "failed": "red", "skipped": "yellow"}[ev.kind.value]
                tail = f": {ev.message}" if ev.message else ""
                self.console.print(
                    f"[{style}]{ev.address}: {ev.operation} {ev.kind.value}[/{style}]{tail}",
                    markup=True, highlight=False,
                )
            elif ev.kind is EventKind.RETRY:  # a transient failure: say so, and when it retries
                from rich.markup import escape

                self.console.print(f"[yellow]{ev.address}: {ev.operation} retry[/yellow]: "
                                   f"{escape(ev.message)}", markup=True, highlight=False)
            elif ev.kind is EventKind.MESSAGE:
                self.console.print(ev.message, markup=False, highlight=False)
            self.live.update(self._table())


def null_sink(ev: Event) -> None:
    """Discard events."""
