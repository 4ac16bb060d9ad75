"""The executor of a run from ``settings.executor``: threads here, or Dask workers.

Dask is imported only when configured (the optional ``vmware2scw[dask]`` extra) and the
cluster is checked against the plan before anything is created.
"""

from __future__ import annotations

from collections.abc import Mapping

from vmware2scw.commands import common as c
from vmware2scw.desired import Desired
from vmware2scw.errors import ConfigError
from vmware2scw.plan.action import Action
from vmware2scw.plan.model import Plan
from vmware2scw.provider import Provider
from vmware2scw.state.model import State, Status
from vmware2scw.walker import Executor, LocalExecutor


def open_executor(s: c.Session, state: State, plan: Plan, desired: Desired,
                  providers: Mapping[str, Provider]) -> Executor:
    """LocalExecutor, or a DaskExecutor connected and checked against ``plan``."""
    cfg = s.loaded.config.settings.executor
    if cfg.type == "threads":
        return LocalExecutor()
    try:
        from vmware2scw.cluster.executor import DaskExecutor
    except ImportError as exc:
        raise ConfigError(f"settings.executor.type dask needs Dask distributed ({exc.name} "
                          "is not installed)",
                          hint="pip install 'vmware2scw[dask]'") from None
    zones = migration_zones(s, desired)
    recorded = {r.migration: r.host for r in state.resources.values()
                if r.host and r.migration and r.status is not Status.TRANSIENT_DONE}
    executor = DaskExecutor.open(cfg, s.base_dir, lineage=state.lineage,
                                 blocks=desired.providers, zones=zones, recorded=recorded)
    try:
        remote = set(cfg.remote_kinds)
        demands = {ch.migration: zones.get(ch.migration, "") for ch in plan.changes
                   if ch.migration and ch.action is not Action.NOOP
                   and _kind(providers, ch.provider, ch.type) in remote}
        executor.check(demands)
    except BaseException:
        executor.close()
        raise
    return executor


def migration_zones(s: c.Session, desired: Desired) -> dict[str, str]:
    """Migration instance (``app["app-03"]``) -> its target zone, from the config."""
    migrations = s.loaded.config.migrations
    zones: dict[str, str] = {}
    for res in desired.resources.values():
        mig = migrations.get(res.migration.split("[", 1)[0])
        if res.migration and mig is not None:
            zones[res.migration] = mig.target.zone
    return zones


def _kind(providers: Mapping[str, Provider], local_name: str, type_name: str) -> str:
    prov = providers.get(local_name)
    rtype = prov.resource_types().get(type_name) if prov is not None else None
    return rtype.kind if rtype is not None else "api"
