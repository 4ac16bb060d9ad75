"""`v2s scheduler`: a Dask scheduler set for migrations (mutual TLS, tasks of hours).

Dask would re-run a task of a lost worker elsewhere up to ``allowed-failures`` times and
drop a worker silent for ``worker-ttl``; v2s pins a migration to its host and resumes
from checkpoints itself, so the scheduler never re-runs (0) and waits 10 minutes.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer

from vmware2scw.commands import common as c
from vmware2scw.errors import ConfigError

SETTINGS = {"distributed.scheduler.allowed-failures": 0,
            "distributed.scheduler.worker-ttl": "10 minutes"}


def scheduler(
    tls_ca: Annotated[Path | None, typer.Option("--tls-ca", help="CA file (PEM).")] = None,
    tls_cert: Annotated[Path | None, typer.Option("--tls-cert", help="The scheduler's "
                                                   "certificate (PEM).")] = None,
    tls_key: Annotated[Path | None, typer.Option("--tls-key", help="Its key (PEM).")] = None,
    insecure: Annotated[bool, typer.Option(
        "--insecure", help="Serve plaintext tcp:// (a lab only).")] = False,
    listen: Annotated[str | None, typer.Option(
        "--listen", help="Address to listen on (default: all interfaces).")] = None,
    port: Annotated[int, typer.Option("--port", min=0, max=65535)] = 8786,
    scheduler_file: Annotated[Path | None, typer.Option(
        "--scheduler-file", help="Write the address here (JSON) once listening.")] = None,
) -> None:
    """Serve a Dask scheduler for `executor: dask` (docs/dask.md)."""
    tls = (tls_ca, tls_cert, tls_key)
    if None in tls and not insecure:
        raise ConfigError("the scheduler needs --tls-ca, --tls-cert and --tls-key",
                          hint="or --insecure for a plaintext lab scheduler")
    protocol = "tcp" if None in tls else "tls"
    c.out(f"v2s scheduler: {protocol}://{listen or '*'}:{port}, allowed-failures 0, "
          "worker-ttl 10 minutes")
    asyncio.run(_serve(tls, protocol, listen, port, scheduler_file))


async def _serve(tls: tuple[Path | None, ...], protocol: str, listen: str | None, port: int,
                 scheduler_file: Path | None) -> None:
    import dask
    from distributed import Scheduler

    from vmware2scw.cluster.connect import security

    ca, cert, key = tls
    sec = security(ca_file=ca, cert=cert, key=key, role="scheduler")
    with dask.config.set(SETTINGS):
        async with Scheduler(host=listen, port=port, protocol=protocol, security=sec,
                             dashboard=False,
                             scheduler_file=str(scheduler_file) if scheduler_file else None
                             ) as s:
            await s.finished()


def register(app: typer.Typer) -> None:
    """Add `v2s scheduler` to the app."""
    app.command()(scheduler)
