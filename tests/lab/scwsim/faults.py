"""Fault injection, set per test: 429s (random or a requests/second limit), 503s,
connection resets, latency.

Draws come from a seeded ``random.Random`` so a test sees the same sequence on
every run; ``script`` forces the next outcomes one by one before any draw. Only
requests whose path matches ``path`` (a regex) and whose method is in
``methods`` are affected; the simulator's own ``/_sim`` endpoints never are.
"""

from __future__ import annotations

import random
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

Outcome = Literal["ok", "429", "503", "reset"]
OUTCOMES: tuple[Outcome, ...] = ("ok", "429", "503", "reset")


@dataclass
class Faults:
    """Rates are probabilities per request; latency is real seconds added to each answer."""

    rate_429: float = 0.0
    rate_503: float = 0.0
    rate_reset: float = 0.0
    latency: float = 0.0
    latency_jitter: float = 0.0
    seed: int = 0
    path: str = ""
    methods: tuple[str, ...] = ("GET", "POST", "PATCH", "PUT", "DELETE")
    script: list[Outcome] = field(default_factory=list)
    body_503: Literal["envoy", "json"] = "envoy"
    max_rps: float | None = None  # a real rate limit: 429 beyond this many requests/second
    now: Callable[[], float] = field(default=time.monotonic, repr=False)  # for max_rps

    def __post_init__(self) -> None:
        for rate in (self.rate_429, self.rate_503, self.rate_reset):
            if not 0.0 <= rate <= 1.0:
                raise ValueError(f"fault rates are probabilities in [0, 1], got {rate}")
        if self.rate_429 + self.rate_503 + self.rate_reset > 1.0:
            raise ValueError("the fault rates add up to more than 1")
        for outcome in self.script:
            if outcome not in OUTCOMES:
                raise ValueError(f"unknown scripted outcome {outcome!r}; use one of {OUTCOMES}")
        self._rng = random.Random(self.seed)
        self._pattern = re.compile(self.path) if self.path else None
        self._lock = threading.Lock()
        self.counts: dict[str, int] = dict.fromkeys(OUTCOMES, 0)
        self._recent: deque[float] = deque()

    def decide(self, method: str, path: str) -> tuple[Outcome, float]:
        """The outcome for one request and the latency (seconds) to add first."""
        if method not in self.methods or (self._pattern and not self._pattern.search(path)):
            return "ok", 0.0
        with self._lock:
            if self.script:
                outcome = self.script.pop(0)
            elif self._over_limit():
                outcome = "429"
            else:
                r = self._rng.random()
                if r < self.rate_429:
                    outcome = "429"
                elif r < self.rate_429 + self.rate_503:
                    outcome = "503"
                elif r < self.rate_429 + self.rate_503 + self.rate_reset:
                    outcome = "reset"
                else:
                    outcome = "ok"
            delay = self.latency + (self._rng.random() * self.latency_jitter)
            self.counts[outcome] += 1
        return outcome, delay

    def _over_limit(self) -> bool:
        """Sliding one-second window of accepted requests (only with ``max_rps``)."""
        if self.max_rps is None:
            return False
        now = self.now()
        while self._recent and now - self._recent[0] >= 1.0:
            self._recent.popleft()
        if len(self._recent) >= self.max_rps:
            return True
        self._recent.append(now)
        return False

    @classmethod
    def from_json(cls, data: dict[str, object]) -> Faults:
        """Build from the JSON of ``POST /_sim/faults`` (same field names)."""
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__ and k != "now"}
        if "methods" in known and isinstance(known["methods"], list):
            known["methods"] = tuple(known["methods"])
        return cls(**known)  # type: ignore[arg-type]
