"""`v2s handoff terraform -out DIR` and `v2s handoff done`: give what v2s made to Terraform."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from vmware2scw.commands import common as c
from vmware2scw.errors import ConfigError, ProviderError
from vmware2scw.handoff import writer
from vmware2scw.handoff.done import mark_done
from vmware2scw.handoff.select import select
from vmware2scw.provider import HandoffProvider, HandoffRecord, HandoffRequest, HandoffResponse
from vmware2scw.state.model import State, Status

handoff_app = typer.Typer(help="Hand what v2s created over to Terraform.", no_args_is_help=True)

Target = Annotated[list[str] | None, typer.Option(
    "-target", "--target", help="A migration (or its server) to hand off; repeatable.")]


def _handoff_providers(s: c.Session, state: State | None) -> dict[str, HandoffProvider]:
    """The configured providers of the state's live records that can hand objects off
    (tombstones are skipped, so the source provider is not even configured)."""
    live = [r for r in state.resources.values() if r.status is not Status.TRANSIENT_DONE
            ] if state else []
    names = sorted({r.provider for r in live})
    registry = s.open_registry(state.lineage if state else c.OFFLINE_LINEAGE)
    out: dict[str, HandoffProvider] = {}
    for name in names:
        if name not in s.loaded.config.providers:
            continue
        prov = registry.get(s.block(name))
        if isinstance(prov, HandoffProvider):
            out[name] = prov
    return out


def _result_types(state: State | None, providers: dict[str, HandoffProvider]
                  ) -> frozenset[str]:
    """Types whose records can be handed off; ConfigError when no provider can."""
    if state is not None and state.resources and not providers:
        raise ConfigError("no configured provider can hand these objects off",
                          hint="the config's providers block must name the provider that "
                               "created the servers")
    return frozenset(t for p in providers.values() for t in p.handoff_types())


@handoff_app.command("terraform")
def terraform(
    out: Annotated[Path, typer.Option("-out", "--out", help="A new (or empty) directory.")],
    target: Target = None,
) -> None:
    """Write Terraform resources and import blocks for the migrated servers."""
    writer.check_out_dir(out)
    with c.session() as s:
        state = s.backend().read()
        providers = _handoff_providers(s, state)
        chosen = select(state, _result_types(state, providers), target or ())
        assert state is not None
        responses: list[HandoffResponse] = []
        for name, prov in sorted(providers.items()):
            records = tuple(
                HandoffRecord(address=r.address, type=r.type, attributes=r.attributes,
                              migration=r.migration, name=chosen.names[r.migration])
                for r in chosen.records if r.provider == name)
            if not records:
                continue
            try:
                resp = prov.handoff(HandoffRequest(records=records, lineage=state.lineage))
            except ProviderError as exc:
                raise ProviderError(f"nothing written: {exc.message}", address=exc.address,
                                    hint=exc.hint or "run `v2s plan` to see what changed"
                                    ) from None
            c.print_diagnostics(resp.diagnostics)
            responses.append(resp)
        files = writer.render(responses, {r.address: r.migration for r in chosen.records},
                              chosen.names, state.lineage)
    writer.write(out, files)
    count = sum(len(r.resources) for r in responses)
    c.out(f"Wrote {len(files)} files to {out}: {count} objects of "
          f"{len(chosen.records)} migrations, each with one import block.")
    c.out(f"Next: see {out / 'README.md'} (terraform init, terraform plan, terraform apply, "
          "then `v2s handoff done`).")


@handoff_app.command("done")
def done(target: Target = None) -> None:
    """Stop managing the handed-off servers (after `terraform apply` imported them)."""
    with c.session() as s:
        backend = s.backend()
        state = backend.read()
        types = _result_types(state, _handoff_providers(s, state))
        marked, already = mark_done(backend, types, target or ())
    for address in marked:
        c.out(f"Handed off {address}: v2s no longer plans, refreshes or deletes it.")
    for address in already:
        c.out(f"{address} was already handed off.")


def register(app: typer.Typer) -> None:
    """Add these commands to the app."""
    app.add_typer(handoff_app, name="handoff")
