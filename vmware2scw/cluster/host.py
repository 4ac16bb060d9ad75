"""A migration host: what a `v2s worker` declares (zone, host, work dir) and where from.

The declaration travels as a worker plugin; the coordinator reads it with
:func:`describe` on every worker. Capacity is Dask worker resources (RESOURCES).
"""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import requests
from distributed.diagnostics.plugin import WorkerPlugin
from pydantic import BaseModel, ConfigDict

from vmware2scw.errors import ConfigError
from vmware2scw.workdir import private_dir

PLUGIN_NAME = "v2s-migration-host"
ATTACH_SLOTS = "attach_slots"  # volumes a host can hold attached (15 on Scaleway) / data-path tasks
CONVERT = "convert"  # guest conversions a host runs at once


class HostFacts(BaseModel):
    """Who a migration host is; ``resources`` are filled in from the scheduler's view."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    name: str
    zone: str
    server_id: str = ""
    work_dir: str
    address: str = ""
    resources: dict[str, float] = {}

    def label(self) -> str:
        return f"{self.address} ({self.name}, zone {self.zone})"


class MigrationHost(WorkerPlugin):
    """Carries a worker's HostFacts; set up by `v2s worker` (or a test cluster)."""

    name = PLUGIN_NAME

    def __init__(self, facts: HostFacts) -> None:
        self.facts = facts

    def setup(self, worker: Any) -> None:
        private_dir(Path(self.facts.work_dir))

    def teardown(self, worker: Any) -> None:
        from vmware2scw.cluster.task import close_providers  # task imports this module

        close_providers()


def describe(dask_worker: Any) -> dict[str, Any] | None:
    """Run on a worker (``client.run``): its HostFacts as a dict, or None if not a host."""
    plugin = dask_worker.plugins.get(PLUGIN_NAME)
    if not isinstance(plugin, MigrationHost):
        return None
    return plugin.facts.model_dump()


def from_metadata(url: str, timeout: float = 5.0) -> dict[str, Any]:
    """The instance metadata (Scaleway's ``/conf?format=json``: id, hostname, zone, ...)."""
    try:
        resp = requests.get(url, timeout=timeout)
        resp.raise_for_status()
        data = resp.json()
    except (requests.RequestException, json.JSONDecodeError) as exc:
        raise ConfigError(f"cannot read the instance metadata at {url}: {exc}",
                          hint="run `v2s worker` on a Scaleway Instance, or give --zone "
                          "and --name (and --metadata-url '' to skip it)") from None
    if not isinstance(data, dict):
        raise ConfigError(f"instance metadata at {url} is not a JSON object")
    return data


def host_facts(*, metadata: dict[str, Any], zone: str | None, name: str | None,
               work_dir: Path) -> HostFacts:
    """HostFacts from the metadata, options overriding it; a zone is required."""
    location = metadata.get("location")
    meta_zone = metadata.get("zone") or (
        location.get("zone_id") if isinstance(location, dict) else None)
    chosen = zone or (str(meta_zone) if meta_zone else "")
    if not chosen:
        raise ConfigError("this migration host has no zone",
                          hint="give --zone (e.g. fr-par-1) or run it on a Scaleway Instance")
    return HostFacts(name=name or str(metadata.get("hostname") or socket.gethostname()),
                     zone=chosen, server_id=str(metadata.get("id") or ""),
                     work_dir=str(work_dir))
