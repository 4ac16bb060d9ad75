"""`v2s state list|show|rm|mv|pull|push`, `force-unlock` and `output`."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from vmware2scw.commands import common as c
from vmware2scw.errors import ConfigError, StateError
from vmware2scw.state import commands as sc
from vmware2scw.wording import plural

state_app = typer.Typer(help="Inspect and edit the state (advanced).", no_args_is_help=True)


@state_app.command("list")
def state_list(
    patterns: Annotated[list[str] | None, typer.Argument(help="Addresses or globs.")] = None,
) -> None:
    """List the addresses in the state."""
    with c.session() as s:
        state = s.backend().read()
    for address in sc.list_addresses(state, patterns or ()) if state else ():
        c.out(address)


@state_app.command("show")
def state_show(address: Annotated[str, typer.Argument(help="One resource address.")]) -> None:
    """Show one resource record as JSON."""
    with c.session() as s:
        backend = s.backend()
        state = backend.read()
    if state is None:
        raise StateError(f"{backend.describe()}: there is no state yet")
    c.out(c.dump_json(sc.show_resource(state, address)))


@state_app.command("rm")
def state_rm(
    patterns: Annotated[list[str], typer.Argument(help="Addresses or globs to forget.")],
) -> None:
    """Forget resources (the real objects are left alone)."""
    with c.session() as s:
        gone = sc.rm(s.backend(), patterns)
    for address in gone:
        c.out(f"Removed {address}")


@state_app.command("mv")
def state_mv(
    source: Annotated[str, typer.Argument()],
    destination: Annotated[str, typer.Argument()],
) -> None:
    """Rename a resource (or a whole migration) in the state."""
    with c.session() as s:
        moves = sc.mv(s.backend(), source, destination)
    for old, new in moves:
        c.out(f"Moved {old} -> {new}")


@state_app.command("pull")
def state_pull() -> None:
    """Print the stored state (JSON)."""
    with c.session() as s:
        data = sc.pull(s.backend())
    sys.stdout.write(data.decode())
    if not data.endswith(b"\n"):
        sys.stdout.write("\n")


@state_app.command("push")
def state_push(
    file: Annotated[str, typer.Argument(help="A state file, or - for stdin.")],
    force: Annotated[bool, typer.Option("-force", "--force",
                                        help="Replace even another lineage/older serial.")
                     ] = False,
) -> None:
    """Replace the stored state with FILE (lineage and serial checked unless -force)."""
    if file == "-":
        data, source = sys.stdin.buffer.read(), "<stdin>"
    else:
        try:
            data, source = Path(file).read_bytes(), file
        except FileNotFoundError:
            raise ConfigError(f"{file}: no such file") from None
    with c.session() as s:
        stored = sc.push(s.backend(), data, source, force=force)
    c.out(f"Pushed {source}: serial {stored.serial}, {plural(len(stored.resources), 'resource')}.")


def force_unlock(
    lock_id: Annotated[str, typer.Argument(metavar="ID", help="The lock ID the error named.")],
    force: Annotated[bool, typer.Option("-force", "--force",
                                        help="Don't ask for confirmation.")] = False,
) -> None:
    """Remove a stale state lock left by a run that died (asks first unless -force)."""
    with c.session() as s:
        backend = s.backend()
        holder = sc.lock_to_remove(backend, lock_id)
        if holder is not None and not c.confirm(
                f"Do you really want to force-unlock {lock_id}, held by {holder.who} "
                f"(operation {holder.operation!r}, since {holder.created})?\n"
                "  Another run may still be using the state", force, flag="-force"):
            c.out("force-unlock cancelled.")
            raise typer.Exit(c.ERROR)
        sc.force_unlock(backend, lock_id)
    who = f" (held by {holder.who}, operation {holder.operation!r})" if holder else ""
    c.out(f"Lock {lock_id} removed{who}.")


def output(
    name: Annotated[str | None, typer.Argument(help="One output (default: all).")] = None,
    json_out: Annotated[bool, typer.Option("--json", "-json")] = False,
    raw: Annotated[bool, typer.Option("-raw", "--raw", help="Print a string bare.")] = False,
) -> None:
    """Show the outputs recorded by the last apply."""
    with c.session() as s:
        state = s.backend().read()
    outputs = state.outputs if state else {}
    if name is not None:
        if name not in outputs:
            raise StateError(f"no output named {name!r}",
                             hint=f"known outputs: {', '.join(sorted(outputs)) or 'none'}")
        value = outputs[name]
        c.out(value if raw and isinstance(value, str) else json.dumps(value, default=str))
        return
    if json_out:
        c.out(c.dump_json(outputs))
        return
    for key, value in sorted(outputs.items()):
        c.out(f"{key} = {json.dumps(value, default=str)}")


def register(app: typer.Typer) -> None:
    """Add these commands to the app."""
    app.add_typer(state_app, name="state")
    app.command("force-unlock")(force_unlock)
    app.command()(output)
