"""`v2s validate`, `plan`, `apply`, `destroy`, `show`: the plan/apply cycle."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from vmware2scw.commands import common as c
from vmware2scw.commands.executor import open_executor
from vmware2scw.commands.report import apply_outputs, make_sink, print_report
from vmware2scw.desired import Desired
from vmware2scw.diagnostics import has_errors
from vmware2scw.errors import ConfigError
from vmware2scw.plan.model import Plan, PlanOptions
from vmware2scw.plan.planner import make_plan
from vmware2scw.plan.render_compact import COMPACT_ABOVE
from vmware2scw.plan.render_json import render_json
from vmware2scw.plan.render_markdown import render_markdown
from vmware2scw.plan.render_text import render_text
from vmware2scw.plan.staleness import check_current
from vmware2scw.provider import Provider
from vmware2scw.refresh import refresh
from vmware2scw.report import write_report
from vmware2scw.state.backend import Backend
from vmware2scw.state.lock import held
from vmware2scw.state.model import State, Status
from vmware2scw.walker import WalkOptions, walk
from vmware2scw.wording import plural
from vmware2scw.workdir import private_dir

Var = Annotated[list[str] | None, typer.Option("-var", "--var", help="Set a variable: NAME=VALUE.")]
VarFile = Annotated[list[str] | None, typer.Option("-var-file", "--var-file",
                                                   help="Read variables from a YAML/JSON file.")]
Target = Annotated[list[str] | None, typer.Option(
    "-target", "--target", help="Only this address (and its dependencies); repeatable.")]
AutoApprove = Annotated[bool, typer.Option("-auto-approve", "--auto-approve",
                                           help="Skip the interactive confirmation.")]
JsonFlag = Annotated[bool, typer.Option("--json", "-json", help="Machine-readable output.")]
Compact = Annotated[bool | None, typer.Option(
    "--compact/--full", "-compact/-full",
    help=f"Plan display: one line per resource, or every attribute (default: compact above "
         f"{COMPACT_ABOVE} migrations).")]


def _plan(s: c.Session, state: State, options: PlanOptions,
          do_refresh: bool = True) -> tuple[Plan, Desired, dict[str, Provider]]:
    desired = s.desired(state.lineage)
    providers = s.providers(desired)
    refreshed = state
    if do_refresh:
        refreshed, diags = refresh(state, providers, desired)
        s.diagnostics.extend(diags)
    s.refreshed = _keep_resumable(state, refreshed)
    plan = make_plan(desired, refreshed, providers, options, recorded=state)
    if s.diagnostics:
        plan = plan.model_copy(update={"diagnostics": (*s.diagnostics, *plan.diagnostics)})
    return plan, desired, providers


def _keep_resumable(recorded: State, refreshed: State) -> State:
    """The refreshed state to persist before applying, keeping interrupted creates' records.

    Refresh drops records whose object is gone; a tainted record with a checkpoint must
    stay, so the resumed apply continues from where it was interrupted.
    """
    keep = {a: r for a, r in recorded.resources.items()
            if a not in refreshed.resources and r.status is Status.TAINTED and r.checkpoint}
    if not keep:
        return refreshed
    return refreshed.model_copy(update={"resources": {**refreshed.resources, **keep}})


def _render(plan: Plan, fmt: str, compact: bool | None = None) -> str:
    if fmt == "json":
        return render_json(plan)
    if fmt == "markdown":
        return render_markdown(plan, compact=compact)
    return render_text(plan, compact=compact)


def validate(var: Var = None, var_file: VarFile = None, json_out: JsonFlag = False) -> None:
    """Check the config: syntax, types, references, graph, and the source VMs it names."""
    with c.session(var, var_file) as s:
        s.backend()  # its settings are checked; the state itself is not read
        desired = s.desired(c.OFFLINE_LINEAGE)
        s.providers(desired)
        if json_out:
            c.out(c.dump_json({"valid": not has_errors(s.diagnostics),
                               "resources": len(desired.resources),
                               "diagnostics": [d.model_dump(mode="json")
                                               for d in s.diagnostics]}))
        else:
            c.print_diagnostics(s.diagnostics)
            migrations = len({r.migration for r in desired.resources.values()})
            c.out(f"The configuration is valid: {plural(len(desired.resources), 'resource')} in "
                  f"{plural(migrations, 'migration')}.")
        if has_errors(s.diagnostics):
            raise typer.Exit(c.ERROR)


def plan(
    var: Var = None,
    var_file: VarFile = None,
    target: Target = None,
    replace: Annotated[list[str] | None, typer.Option(
        "-replace", "--replace", help="Force replacement of this address; repeatable.")] = None,
    refresh_only: Annotated[bool, typer.Option("-refresh-only", "--refresh-only",
                                               help="Only record drift.")] = False,
    destroy: Annotated[bool, typer.Option("-destroy", "--destroy",
                                          help="Plan to destroy everything.")] = False,
    no_refresh: Annotated[bool, typer.Option("--no-refresh", "-no-refresh",
                                             help="Skip provider reads.")] = False,
    out_file: Annotated[Path | None, typer.Option("-out", "--out",
                                                  help="Save the plan to this file.")] = None,
    json_out: JsonFlag = False,
    fmt: Annotated[str, typer.Option("--format", "-format",
                                     help="text | json | markdown")] = "text",
    compact: Compact = None,
    detailed_exitcode: Annotated[bool, typer.Option(
        "--detailed-exitcode", "-detailed-exitcode",
        help="Exit 0 when nothing changes, 2 when something does, 1 on error.")] = False,
) -> None:
    """Show what apply would do; optionally save it with -out."""
    if fmt not in ("text", "json", "markdown"):
        raise ConfigError(f"unknown --format {fmt!r}", hint="use text, json or markdown")
    opts = PlanOptions(targets=tuple(target or ()), replace=tuple(replace or ()),
                       refresh_only=refresh_only, destroy=destroy, refresh=not no_refresh)
    with c.session(var, var_file) as s:
        backend = s.backend()
        state = s.read_state(backend)
        result, _, _ = _plan(s, state, opts, do_refresh=not no_refresh)
    if json_out:
        fmt = "json"
    if fmt == "text":
        c.print_diagnostics(result.diagnostics)
    c.out(_render(result, fmt, compact))
    if out_file is not None:
        _write_private(out_file, result.to_json().encode() + b"\n")
        if fmt == "text":
            c.out(f"Saved the plan to {out_file}. Apply it with: v2s apply {out_file}")
    if result.errored:
        raise typer.Exit(c.ERROR)
    if detailed_exitcode and result.has_changes:
        raise typer.Exit(c.CHANGES)


def _write_private(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    tmp.chmod(0o600)
    tmp.replace(path)


def _read_plan(path: Path) -> Plan:
    try:
        return Plan.from_json(path.read_bytes())
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such plan file") from None
    except ValueError as exc:
        first = str(exc).splitlines()[0]
        raise ConfigError(f"{path}: not a v2s plan file ({first})",
                          hint="make one with `v2s plan -out FILE`") from None


def _execute(s: c.Session, backend: Backend, state: State, result: Plan, desired: Desired,
             providers: dict[str, Provider], *, parallelism: int | None, json_out: bool,
             operation: str) -> None:
    """Walk ``result`` with the lock held; print the run report; exit with its code."""
    executor = open_executor(s, state, result, desired, providers)  # checked first
    try:
        sm = s.state_manager(backend, state, providers)
        if s.refreshed is not None and s.refreshed.resources != state.resources:
            refreshed = s.refreshed
            sm.update(lambda _: refreshed)  # what refresh found, saved like Terraform does
        settings = s.loaded.config.settings
        log_dir = private_dir(s.work_dir / "logs")
        log_path = log_dir / f"{operation}-{time.strftime('%Y%m%dT%H%M%S')}.log"
        with make_sink(json_out, log_path) as sink:
            res = walk(result, sm, providers, WalkOptions(
                parallelism=parallelism or settings.parallelism,
                limits={**settings.limits, **desired.limits},
                work_dir=s.work_dir, desired=desired, on_event=sink, executor=executor))
    finally:
        executor.close()  # nothing of this run keeps running on the hosts
    if not result.destroy and not result.refresh_only:
        apply_outputs(sm, desired)
    print_report(res, operation, json_out=json_out)
    if operation == "apply":  # Markdown + HTML run report (vmware2scw/report.py)
        types = {n: t for p in providers.values() for n, t in p.resource_types().items()}
        md = write_report(res, result, sm.state, s.work_dir, started=time.time() - res.seconds,
                          types=types)
        if not json_out:
            c.out(f"Run report: {md} (also .html, .json)")
    if res.interrupted:
        raise typer.Exit(c.INTERRUPTED)
    if not res.outcomes and not res.ok:  # refused before any work (e.g. prevent_destroy)
        raise typer.Exit(c.ERROR)
    if not res.ok:
        raise typer.Exit(c.PARTIAL)


def apply(
    planfile: Annotated[Path | None, typer.Argument(help="A plan from `v2s plan -out`.")] = None,
    var: Var = None,
    var_file: VarFile = None,
    target: Target = None,
    replace: Annotated[list[str] | None, typer.Option("-replace", "--replace")] = None,
    refresh_only: Annotated[bool, typer.Option("-refresh-only", "--refresh-only")] = False,
    auto_approve: AutoApprove = False,
    parallelism: Annotated[int | None, typer.Option(
        "--parallelism", "-parallelism", min=1, help="Resources applied at once (default 10).")
    ] = None,
    json_out: JsonFlag = False,
    compact: Compact = None,
) -> None:
    """Make the real world match the config (or apply a saved plan)."""
    with c.session(var, var_file) as s:
        backend = s.backend()
        saved = _read_plan(planfile) if planfile is not None else None
        with held(backend, "apply"):
            if saved is not None:
                state = s.read_state(backend, lineage=saved.lineage)
                desired = s.desired(state.lineage)
                check_current(saved, state, desired)
                providers = s.providers(desired)
                result = saved
            else:
                state = s.read_state(backend)
                opts = PlanOptions(targets=tuple(target or ()), replace=tuple(replace or ()),
                                   refresh_only=refresh_only)
                result, desired, providers = _plan(s, state, opts)
                if not _review(result, json_out, auto_approve, "apply", compact):
                    return
            _execute(s, backend, state, result, desired, providers, parallelism=parallelism,
                     json_out=json_out, operation="apply")


_REVIEW = {
    "apply": ("Nothing to do.", "Do you want to perform these actions?", "Apply cancelled."),
    "destroy": ("Nothing to destroy.", "Do you really want to destroy these resources?",
                "Destroy cancelled."),
}


def _review(result: Plan, json_out: bool, auto_approve: bool, operation: str,
            compact: bool | None) -> bool:
    """Show a fresh plan and ask for approval; False when there is nothing to do."""
    nothing, question, cancelled = _REVIEW[operation]
    if not json_out:
        c.print_diagnostics(result.diagnostics)
        c.out(render_text(result, compact=compact))
    if result.errored:
        raise typer.Exit(c.ERROR)
    if not result.has_changes:
        if not json_out:
            c.out(nothing)
        return False
    if not c.confirm(question, auto_approve):
        c.out(cancelled)
        raise typer.Exit(c.ERROR)
    return True


def destroy(
    var: Var = None,
    var_file: VarFile = None,
    target: Target = None,
    auto_approve: AutoApprove = False,
    parallelism: Annotated[int | None, typer.Option("--parallelism", "-parallelism", min=1)
                           ] = None,
    json_out: JsonFlag = False,
    compact: Compact = None,
) -> None:
    """Delete everything this state manages (or -target and its dependents)."""
    with c.session(var, var_file) as s:
        backend = s.backend()
        with held(backend, "destroy"):
            state = s.read_state(backend)
            opts = PlanOptions(targets=tuple(target or ()), destroy=True)
            result, desired, providers = _plan(s, state, opts)
            if not _review(result, json_out, auto_approve, "destroy", compact):
                return
            _execute(s, backend, state, result, desired, providers, parallelism=parallelism,
                     json_out=json_out, operation="destroy")


def show(
    file: Annotated[Path | None, typer.Argument(help="A plan file (default: the state).")] = None,
    json_out: JsonFlag = False,
    compact: Compact = None,
) -> None:
    """Show a saved plan, or the current state."""
    if file is not None:
        try:
            data: Any = json.loads(file.read_bytes())
        except FileNotFoundError:
            raise ConfigError(f"{file}: no such file") from None
        except ValueError as exc:
            raise ConfigError(f"{file}: not JSON ({exc})") from None
        if isinstance(data, dict) and "resources" in data and "changes" not in data:
            _show_state(State.model_validate(data), json_out)
            return
        saved = _read_plan(file)
        c.out(render_json(saved) if json_out else render_text(saved, compact=compact))
        return
    with c.session() as s:
        state = s.backend().read()
    if state is None:
        c.out("{}" if json_out else "No state yet.")
        return
    _show_state(state, json_out)


def _show_state(state: State, json_out: bool) -> None:
    if json_out:
        c.out(state.model_dump_json(indent=2))
        return
    for address, rs in sorted(state.resources.items()):
        c.out(f"{address}  ({rs.type}, {rs.status.value})")
        for key, value in sorted(rs.attributes.items()):
            c.out(f"    {key} = {json.dumps(value, default=str)}")
    if not state.resources:
        c.out("The state is empty.")
    sys.stdout.flush()


def register(app: typer.Typer) -> None:
    """Add these commands to the app."""
    app.command()(validate)
    app.command()(plan)
    app.command()(apply)
    app.command()(destroy)
    app.command()(show)
