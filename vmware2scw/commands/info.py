"""`v2s graph`, `schema`, `inventory`, `version`."""

from __future__ import annotations

import platform
from pathlib import Path
from typing import Annotated, Any

import typer

from vmware2scw import __version__
from vmware2scw.commands import common as c
from vmware2scw.config.schema import schema_text as config_schema_text
from vmware2scw.diagnostics import warning
from vmware2scw.errors import ConfigError, V2SError
from vmware2scw.graph import build_graph
from vmware2scw.plan.model import Plan
from vmware2scw.plan.render_graph import to_dot, to_mermaid
from vmware2scw.plan.schema import SCHEMA_FILES, schema_text
from vmware2scw.provider import CatalogueProvider, StarterSource, VMFacts
from vmware2scw.registry import Registry, available, instantiate
from vmware2scw.wording import plural


def graph(
    fmt: Annotated[str, typer.Option("--format", "-format", help="dot | mermaid")] = "dot",
    plan_file: Annotated[Path | None, typer.Option(
        "-plan", "--plan", help="Colour nodes by the actions of this plan file.")] = None,
) -> None:
    """Print the resource graph (DOT for Graphviz, or Mermaid)."""
    if fmt not in ("dot", "mermaid"):
        raise ConfigError(f"unknown --format {fmt!r}", hint="use dot or mermaid")
    actions: dict[str, str] | None = None
    if plan_file is not None:
        saved = Plan.from_json(plan_file.read_bytes())
        actions = {ch.address: ch.action.value for ch in saved.changes}
    with c.session() as s:
        g = build_graph(s.desired(c.OFFLINE_LINEAGE))
    c.out(to_dot(g, actions) if fmt == "dot" else to_mermaid(g, actions))


def schemas() -> dict[str, str]:
    """The JSON Schemas v2s publishes (schemas/), by file name, as their stored text."""
    return {"config.schema.json": config_schema_text(),
            **{name: schema_text(make()) for name, make in SCHEMA_FILES.items()}}


def schema(
    write: Annotated[Path | None, typer.Option("--write", help="Write every schema here.")
                     ] = None,
    which: Annotated[str, typer.Option("--which", help="config | plan | state")] = "config",
) -> None:
    """Print the config JSON Schema, or write all schemas (config, plan, state) to a folder."""
    docs = schemas()
    if write is not None:
        write.mkdir(parents=True, exist_ok=True)
        for name, doc in docs.items():
            (write / name).write_text(doc)
            c.out(f"wrote {write / name}")
        return
    key = f"{which}.schema.json"
    if key not in docs:
        raise ConfigError(f"unknown schema {which!r}", hint="use config, plan or state")
    c.out(docs[key])


def inventory(
    match: Annotated[list[str] | None, typer.Option(
        "--match", help="Only VMs whose name matches this glob; repeatable.")] = None,
    provider: Annotated[str | None, typer.Option(
        "--provider", help="The source provider's local name (default: every one).")] = None,
    json_out: Annotated[bool, typer.Option("--json")] = False,
    yaml_out: Annotated[bool, typer.Option("--yaml")] = False,
) -> None:
    """List the source VMs the config's source providers see (--yaml: a starter
    `migrations:` block, with the cheapest fitting Scaleway type when one is configured)."""
    with c.session() as s:
        names = [provider] if provider else [
            n for n in s.loaded.config.providers
            if hasattr(instantiate(s.block(n).source), "inventory")]
        if not names:
            raise ConfigError("no source provider in the config",
                              hint="add a source provider (one that lists VMs) under "
                                   "`providers:`")
        registry = s.open_registry(c.OFFLINE_LINEAGE)
        found: list[dict[str, Any]] = []
        facts: list[VMFacts] = []
        for name in names:
            resp = s.inventory(name, tuple(match or ()))
            c.print_diagnostics(resp.diagnostics)
            facts.extend(resp.vms)
            found.extend({"provider": name, **vm.model_dump(mode="json")} for vm in resp.vms)
        if yaml_out:
            source = registry.get(s.block(names[0]))
            if not isinstance(source, StarterSource):
                raise ConfigError(f"provider {names[0]!r} cannot write a starter config",
                                  hint="use --json, or a source provider with --yaml support")
            catalogue = _catalogue(s, registry)
            c.out(source.starter_yaml(facts, catalogue).rstrip("\n"))
            return
    if json_out:
        c.out(c.dump_json(found))
    else:
        for vm in found:
            disks = sum(d["capacity_bytes"] for d in vm["disks"])
            c.out(f"{vm['name']}  {vm['num_cpus']} vCPU  {vm['memory_mb']} MiB  "
                  f"{plural(len(vm['disks']), 'disk')} ({disks / 2**30:.1f} GiB)  "
                  f"{vm['power_state']}  {vm['guest_family']}/{vm['firmware']}")
        c.out(f"{plural(len(found), 'VM')}.")


def _catalogue(s: c.Session, registry: Registry) -> dict[str, Any] | None:
    """The instance types of the first configured provider that has a catalogue.

    None (the starter then says CHOOSE-A-TYPE) when no provider has one or it cannot be
    read; the reason is printed as a warning.
    """
    for name in s.loaded.config.providers:
        try:
            s.require(name)
            prov = registry.get(s.block(name))
        except V2SError:
            continue
        if not isinstance(prov, CatalogueProvider):
            continue
        try:
            return dict(prov.catalogue_map())
        except V2SError as exc:
            c.print_diagnostics([warning(
                f"provider {name!r}: instance catalogue unavailable, so no type is suggested",
                exc.message)])
            return None
    return None


def version() -> None:
    """Print the version of v2s, Python and the installed provider plug-ins."""
    c.out(f"v2s {__version__} (Python {platform.python_version()})")
    c.out(f"providers: {', '.join(available())}")


def register(app: typer.Typer) -> None:
    """Add these commands to the app."""
    app.command()(graph)
    app.command()(schema)
    app.command()(inventory)
    app.command()(version)
