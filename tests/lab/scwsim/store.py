"""In-memory resources of the simulator and the clock that drives their state changes.

Every resource is a dict in the API's own shape and key order. State changes are
timers on a simulated clock (``Clock``): ``speed`` scales real time (0 = manual,
``advance()`` only), so tests see the recorded state sequences without waiting
minutes. ``Store.tick()`` fires the due timers; the server calls it on every
request and a ticker thread calls it in between.
"""

from __future__ import annotations

import copy
import datetime as dt
import heapq
import itertools
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import invalid_argument, quotas_exceeded

# The Scaleway public organisation that owns marketplace images (as recorded).
PUBLIC_ORG = "51b656e3-4865-41e8-adbc-0c45bdd780db"
ZONE_REGION = {
    "fr-par-1": "fr-par", "fr-par-2": "fr-par", "fr-par-3": "fr-par",
    "nl-ams-1": "nl-ams", "nl-ams-2": "nl-ams", "nl-ams-3": "nl-ams",
    "pl-waw-1": "pl-waw", "pl-waw-2": "pl-waw", "pl-waw-3": "pl-waw",
    "it-mil-1": "it-mil",
}  # fmt: skip


@dataclass(frozen=True)
class Timings:
    """Simulated seconds per transition, fitted to the recordings' timestamps."""

    volume_create: float = 0.2  # creating -> available (recorded 0.15 s)
    volume_update: float = 2.0  # size or perf_iops change: updating -> back (not recorded)
    snapshot_create: float = 1.5  # snapshot of a volume: creating -> available (1.3 s)
    import_base: float = 4.0  # import: creating -> available, plus ...
    import_per_gib: float = 1.0  # ... per GiB of virtual size (2025: 6 s for 1 GiB)
    poweron: float = 3.0  # starting -> running (recorded 3.6 s)
    poweroff: float = 35.0  # stopping -> stopped (recorded 35.6 s)
    terminate: float = 4.5  # stopping/terminating -> gone (recorded < 5 s)
    reboot: float = 10.0
    private_nic: float = 80.0  # syncing -> available (recorded 87 s)
    device_attach: float = 1.0  # attach -> the host's by-id link appears (udev; not recorded)


class Clock:
    """Simulated wall clock: real time times ``speed`` plus manual ``advance()``."""

    def __init__(self, speed: float = 1.0, start: float | None = None) -> None:
        self.speed = speed
        self._base = time.time() if start is None else start
        self._t0 = time.monotonic()
        self._offset = 0.0
        self._lock = threading.Lock()

    def now(self) -> float:
        with self._lock:
            return self._base + self._offset + (time.monotonic() - self._t0) * self.speed

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._offset += seconds

    def set_speed(self, speed: float) -> None:
        """Change the speed from now on (time already elapsed keeps its old rate)."""
        with self._lock:
            mono = time.monotonic()
            self._offset += (mono - self._t0) * self.speed
            self._t0, self.speed = mono, speed

    def instance_ts(self, when: float | None = None) -> str:
        """Instance timestamps: ``2026-07-30T12:55:26.364589+00:00``."""
        return dt.datetime.fromtimestamp(self.now() if when is None else when, dt.UTC).isoformat()

    def block_ts(self, when: float | None = None) -> str:
        """Block timestamps: ``2026-07-30T12:56:46.441411Z``."""
        t = dt.datetime.fromtimestamp(self.now() if when is None else when, dt.UTC)
        return t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass
class Account:
    """The one account the simulator serves (project == organisation, as recorded)."""

    access_key: str = "SCWSIMULATORXXXXXXXX"
    secret_key: str = "11111111-1111-4111-8111-111111111111"
    project_id: str = "22222222-2222-4222-8222-222222222222"

    @property
    def organization_id(self) -> str:
        return self.project_id


@dataclass
class BootInfo:
    """What ``boot_hook`` receives when a server reaches ``running``."""

    server_id: str
    name: str
    zone: str
    commercial_type: str
    root_volume_id: str | None
    root_volume_path: Path | None
    volume_paths: dict[str, Path | None] = field(default_factory=dict)


class Store:
    """All resources, keyed by id, plus the timers that change their states."""

    def __init__(self, clock: Clock, timings: Timings, account: Account, data_dir: Path) -> None:
        self.clock = clock
        self.timings = timings
        self.account = account
        self.data_dir = data_dir
        self.lock = threading.RLock()
        self.snapshots: dict[str, dict[str, Any]] = {}
        self.volumes: dict[str, dict[str, Any]] = {}
        self.images: dict[str, dict[str, Any]] = {}
        self.servers: dict[str, dict[str, Any]] = {}
        self.ips: dict[str, dict[str, Any]] = {}
        self.nics: dict[str, dict[str, Any]] = {}
        self.ipam: dict[str, dict[str, Any]] = {}
        # Private metadata kept outside the API bodies.
        self.owner: dict[str, str] = {}  # resource id -> organisation
        self.data_path: dict[str, Path] = {}  # snapshot or volume id -> qcow2 on disk
        self.availability: dict[str, str] = {}
        self.quotas: dict[str, int] = {}  # instances, images, snapshots, volumes -> maximum
        self.on_running: Callable[[str], None] | None = None
        self.on_volumes: Callable[[str], None] | None = None  # a server's volumes changed
        # Set by the Simulator: S3 access for imports, a worker-thread launcher.
        self.objects: Any = None
        self.spawn: Callable[[Callable[[], None]], None] = lambda fn: fn()
        self.qemu_img = "qemu-img"
        self.import_ok: dict[str, bool] = {}  # snapshot id -> result of the full check
        self._timers: list[tuple[float, int, Callable[[], None]]] = []
        self._seq = itertools.count()
        self._mac = itertools.count(0x271600)

    # -- timers ---------------------------------------------------------------
    def later(self, seconds: float, fn: Callable[[], None]) -> None:
        """Run ``fn`` (under the store lock) once ``seconds`` of simulated time have passed."""
        with self.lock:
            heapq.heappush(self._timers, (self.clock.now() + seconds, next(self._seq), fn))

    def tick(self) -> None:
        """Fire every due timer, in due order."""
        with self.lock:
            while self._timers and self._timers[0][0] <= self.clock.now():
                _, _, fn = heapq.heappop(self._timers)
                fn()

    def volumes_changed(self, server_id: str) -> None:
        """Tell the migration hosts (device paths) that a server's volume map changed."""
        if self.on_volumes is not None:
            self.on_volumes(server_id)

    def pending_timers(self) -> int:
        with self.lock:
            return len(self._timers)

    # -- helpers --------------------------------------------------------------
    @staticmethod
    def new_id() -> str:
        return str(uuid.uuid4())

    def new_mac(self, prefix: str = "de:00:01") -> str:
        n = next(self._mac)
        return f"{prefix}:{(n >> 16) & 0xFF:02x}:{(n >> 8) & 0xFF:02x}:{n & 0xFF:02x}"

    def check_quota(self, kind: str, adding: int = 1) -> None:
        """403 quotas_exceeded if ``adding`` more of ``kind`` would pass its quota."""
        quota = self.quotas.get(kind)
        if quota is None:
            return
        table = {"instances": self.servers, "images": self.images,
                 "snapshots": self.snapshots, "volumes": self.volumes}[kind]  # fmt: skip
        current = sum(1 for rid in table if self.owner.get(rid) is None)
        if current + adding > quota:
            raise quotas_exceeded(kind, quota, current)

    @staticmethod
    def region_of(zone: str) -> str:
        region = ZONE_REGION.get(zone)
        if region is None:
            raise invalid_argument("zone", f"unknown zone {zone!r}")
        return region

    @staticmethod
    def view(body: dict[str, Any]) -> dict[str, Any]:
        return copy.deepcopy(body)


def page_of(items: list[Any], page: int, per_page: int) -> list[Any]:
    """Items of one 1-based page (empty beyond the last page, as the API answers)."""
    start = (page - 1) * per_page
    return items[start : start + per_page]


def int_param(query: dict[str, list[str]], name: str, default: int, maximum: int) -> int:
    """A positive integer query parameter bounded by ``maximum`` (else 400)."""
    raw = query.get(name, [str(default)])[0]
    try:
        value = int(raw)
    except ValueError:
        raise invalid_argument(name, "must be an integer") from None
    if value < 1 or value > maximum:
        raise invalid_argument(name, f"must be between 1 and {maximum}")
    return value


def instance_page(
    query: dict[str, list[str]], items: list[Any], link_path: str
) -> tuple[list[Any], dict[str, str]]:
    """One page of an Instance list and its ``X-Total-Count`` and ``Link`` headers."""
    page = int_param(query, "page", 1, 10**6)
    per_page = int_param(query, "per_page", 50, 100)
    total = len(items)
    last = max(1, -(-total // per_page))
    links = []
    if page > 1:
        links.append(f'<{link_path}?page=1&per_page={per_page}&>; rel="first"')
        prev = min(page - 1, last)
        links.append(f'<{link_path}?page={prev}&per_page={per_page}&>; rel="previous"')
    if page < last:
        links.append(f'<{link_path}?page={page + 1}&per_page={per_page}&>; rel="next"')
        links.append(f'<{link_path}?page={last}&per_page={per_page}&>; rel="last"')
    headers = {"X-Total-Count": str(total)}
    if links:
        headers["Link"] = ",".join(links)
    return page_of(items, page, per_page), headers
