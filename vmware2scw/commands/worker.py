"""`v2s worker`: run a Dask worker that declares this machine a migration host.

It reads the instance metadata (zone, name, id), declares its capacity as Dask worker
resources (``attach_slots``, ``convert``) and serves the scheduler over mutual TLS.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from vmware2scw.commands import common as c
from vmware2scw.errors import ConfigError
from vmware2scw.workdir import private_dir

if TYPE_CHECKING:
    from vmware2scw.cluster.host import HostFacts

# Scaleway's instance metadata service; the lab's simulator serves it elsewhere and says
# where in V2S_SCW_METADATA_URL (a base URL replacing http://169.254.42.42).
METADATA_BASE = os.environ.get("V2S_SCW_METADATA_URL", "http://169.254.42.42").rstrip("/")


def worker(
    scheduler: Annotated[str, typer.Option("--scheduler", help="tls://HOST:8786")],
    tls_ca: Annotated[Path | None, typer.Option("--tls-ca", help="CA file (PEM).")] = None,
    tls_cert: Annotated[Path | None, typer.Option("--tls-cert", help="This worker's "
                                                   "certificate (PEM).")] = None,
    tls_key: Annotated[Path | None, typer.Option("--tls-key", help="Its key (PEM).")] = None,
    insecure: Annotated[bool, typer.Option(
        "--insecure", help="Allow a plaintext tcp:// scheduler (a lab only).")] = False,
    zone: Annotated[str | None, typer.Option("--zone", help="Default: from the metadata.")
                    ] = None,
    name: Annotated[str | None, typer.Option("--name", help="Default: the host name.")] = None,
    metadata_url: Annotated[str, typer.Option(
        "--metadata-url", help="Instance metadata, read when --zone or --name is not given."
    )] = f"{METADATA_BASE}/conf?format=json",
    attach_slots: Annotated[int, typer.Option(
        "--attach-slots", min=0, help="Volumes this host may hold attached (data-path tasks "
        "at once).")] = 15,
    convert: Annotated[int | None, typer.Option(
        "--convert", min=0, help="Conversions at once (default: half the CPUs).")] = None,
    work_dir: Annotated[Path, typer.Option("--work-dir", help="Artifacts of the migrations "
                                           "placed here.")] = Path("/var/lib/v2s-worker"),
    listen: Annotated[str | None, typer.Option(
        "--listen", help="Address to listen on (default: all interfaces).")] = None,
    death_timeout: Annotated[float, typer.Option(
        "--death-timeout", help="Give up after this many seconds without a scheduler.")] = 60.0,
) -> None:
    """Serve a Dask scheduler as a migration host (docs/dask.md)."""
    from vmware2scw.cluster.host import from_metadata, host_facts

    scheme = scheduler.split("://", 1)[0] if "://" in scheduler else ""
    if scheme == "tcp" and not insecure:
        raise ConfigError("refusing a plaintext tcp:// scheduler",
                          hint="use tls:// with --tls-ca/--tls-cert/--tls-key, or --insecure "
                          "in a lab")
    if scheme not in ("tls", "tcp"):
        raise ConfigError(f"--scheduler {scheduler!r} must start with tls://")
    if scheme == "tls" and None in (tls_ca, tls_cert, tls_key):
        raise ConfigError("a tls:// scheduler needs --tls-ca, --tls-cert and --tls-key")
    metadata = from_metadata(metadata_url) if (zone is None or name is None) else {}
    facts = host_facts(metadata=metadata, zone=zone, name=name,
                       work_dir=private_dir(work_dir.absolute()))
    slots = convert if convert is not None else max(1, (os.cpu_count() or 2) // 2)
    c.out(f"v2s worker: migration host {facts.name} in zone {facts.zone}, "
          f"attach_slots={attach_slots} convert={slots}, scheduler {scheduler}")
    asyncio.run(_serve(scheduler, facts, tls=(tls_ca, tls_cert, tls_key),
                       resources={"attach_slots": float(attach_slots), "convert": float(slots)},
                       listen=listen, death_timeout=death_timeout,
                       nthreads=max(1, attach_slots)))


async def _serve(scheduler: str, facts: HostFacts, *, tls: tuple[Path | None, ...],
                 resources: dict[str, float], listen: str | None, death_timeout: float,
                 nthreads: int) -> None:
    from distributed import Worker

    from vmware2scw.cluster.connect import security
    from vmware2scw.cluster.host import MigrationHost

    ca, cert, key = tls
    sec = security(ca_file=ca, cert=cert, key=key, role="worker")
    async with Worker(scheduler, security=sec, resources=resources, name=facts.name,
                      plugins=(MigrationHost(facts),), nthreads=nthreads, host=listen,
                      death_timeout=death_timeout, dashboard=False) as w:
        await w.finished()


def register(app: typer.Typer) -> None:
    """Add `v2s worker` to the app."""
    app.command()(worker)
