"""The Instance catalogue: types and prices, read once per zone per run, paginated."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable

from pydantic import BaseModel, ConfigDict

from .client import ScalewayClient

HOURS_PER_MONTH = 730
MiB = 1024 * 1024


class Offer(BaseModel):
    """One commercial type as v2s needs it."""

    model_config = ConfigDict(frozen=True)
    name: str
    ncpus: int
    ram_bytes: int
    arch: str = "x86_64"
    hourly_price: float = 0.0
    monthly_price: float = 0.0
    block_storage: bool = True
    end_of_service: bool = False
    gpu: int = 0
    max_private_networks: int = 8

    @property
    def memory_mb(self) -> int:
        return self.ram_bytes // MiB

    @property
    def windows(self) -> bool:
        return self.name.upper().endswith("-WIN")


class Catalogue:
    """Offers by zone; ``fetch(zone)`` is called at most once per zone (thread-safe)."""

    def __init__(self, fetch: Callable[[str], dict[str, Offer]]):
        self._fetch = fetch
        self._cache: dict[str, dict[str, Offer]] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_api(cls, api: ScalewayClient) -> Catalogue:
        return cls(lambda zone: fetch_offers(api, zone))

    @classmethod
    def from_offers(cls, offers: Iterable[Offer]) -> Catalogue:
        table = {o.name: o for o in offers}
        return cls(lambda _zone: table)

    def offers(self, zone: str) -> dict[str, Offer]:
        with self._lock:
            if zone not in self._cache:
                self._cache[zone] = self._fetch(zone)
            return self._cache[zone]

    def cached(self, zone: str) -> dict[str, Offer] | None:
        """The offers of a zone if already read (plan() never reads: refresh does)."""
        with self._lock:
            return self._cache.get(zone)

    def get(self, zone: str, commercial_type: str) -> Offer | None:
        return self.offers(zone).get(commercial_type)

    def suggest(
        self, zone: str, cpus: int, memory_mb: int, *, windows: bool = False,
        arch: str = "x86_64",
    ) -> Offer | None:
        """The cheapest current Block-capable type with at least these CPUs and memory."""
        fits = [
            o for o in self.offers(zone).values()
            if o.ncpus >= cpus and o.memory_mb >= memory_mb and o.arch == arch
            and o.block_storage and not o.end_of_service and not o.gpu
            and o.windows == windows
        ]
        return min(fits, key=lambda o: (o.monthly_price, o.ncpus, o.ram_bytes, o.name),
                   default=None)


def fetch_offers(api: ScalewayClient, zone: str, per_page: int = 100) -> dict[str, Offer]:
    """Every page of ``GET products/servers`` merged (the map is split across pages)."""
    out: dict[str, Offer] = {}
    page = 1
    while True:
        res = api.instance.list_servers_types(zone=zone, page=page, per_page=per_page)
        servers = res.servers or {}
        for name, t in servers.items():
            caps = t.capabilities
            monthly = t.monthly_price if t.monthly_price else t.hourly_price * HOURS_PER_MONTH
            out[name] = Offer(
                name=name, ncpus=t.ncpus, ram_bytes=t.ram, arch=str(t.arch),
                hourly_price=t.hourly_price, monthly_price=round(monthly, 2),
                block_storage=bool(caps.block_storage) if caps else True,
                end_of_service=t.end_of_service, gpu=t.gpu or 0,
                max_private_networks=getattr(caps, "private_network", 8) if caps else 8,
            )
        total = int(res.total_count or 0)
        if not servers or len(out) >= total or page >= 1000:
            return out
        page += 1
