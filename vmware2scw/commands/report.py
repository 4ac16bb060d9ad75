"""What an apply prints: live progress (rich / plain / JSON lines), a log, the run report."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from vmware2scw.commands import common as c
from vmware2scw.config.interpolate import resolve
from vmware2scw.desired import Desired
from vmware2scw.progress import Event, JsonRenderer, PlainRenderer, RichRenderer, Sink, human_bytes
from vmware2scw.state.lookup import state_lookup
from vmware2scw.state.manager import StateManager
from vmware2scw.state.model import State
from vmware2scw.walker import WalkResult
from vmware2scw.wording import plural


@contextmanager
def make_sink(json_out: bool, log_path: Path) -> Iterator[Sink]:
    """The event sink of a run: the chosen display plus a plain log file (mode 0600)."""
    with ExitStack() as stack:
        log = stack.enter_context(log_path.open("a", encoding="utf-8"))
        log_path.chmod(0o600)
        logger = PlainRenderer(log, every=5.0)
        display: Sink
        if json_out:
            display = JsonRenderer(sys.stdout)
        elif sys.stdout.isatty():
            from rich.console import Console

            console = Console(no_color=c.GLOBALS.no_color)
            display = stack.enter_context(RichRenderer(console))
        else:
            display = PlainRenderer(sys.stdout)

        def sink(ev: Event) -> None:
            logger(ev)
            display(ev)

        yield sink


def apply_outputs(sm: StateManager, desired: Desired) -> None:
    """Record the config's (non-sensitive) outputs, resolved against the new state."""
    state = sm.state
    lookup = state_lookup(state)
    outputs: dict[str, Any] = {}
    for name, spec in sorted(desired.outputs.items()):
        if isinstance(spec, dict) and spec.get("sensitive"):
            continue
        raw = spec.get("value") if isinstance(spec, dict) else spec
        value, unknown = resolve(raw, lookup)
        if not unknown:
            outputs[name] = value
    if outputs != state.outputs:
        sm.update(lambda s: s.model_copy(update={"outputs": outputs}))


def print_report(res: WalkResult, operation: str, *, json_out: bool) -> None:
    """Per-resource outcomes, then one summary line (or one JSON object with --json)."""
    if json_out:
        c.out(json.dumps({"type": "report", "operation": operation, "ok": res.ok,
                          "interrupted": res.interrupted, "seconds": res.seconds,
                          "outcomes": [o.model_dump() for o in res.outcomes],
                          "diagnostics": [d.model_dump(mode="json") for d in res.diagnostics]},
                         sort_keys=True))
        return
    c.print_diagnostics(res.diagnostics)
    if res.outcomes:
        c.out("")
        c.out("Run report:")
        width = max(len(o.address) for o in res.outcomes)
        for o in res.outcomes:
            size = f"  {human_bytes(o.bytes)}" if o.bytes else ""
            tries = f"  ({o.attempts} attempts)" if o.attempts > 1 else ""
            c.out(f"  {o.address:<{width}}  {o.operation:<7}  {o.status:<11}"
                  f"  {o.seconds:7.1f}s{size}{tries}")
    done = res.count("ok")
    word = "Destroy" if operation == "destroy" else "Apply"
    if res.interrupted:
        c.out(f"{word} interrupted after {res.seconds:.1f}s: {done} done, "
              f"{res.count('not-started')} not started. State is saved; run it again to "
              "continue.")
    elif res.ok:
        c.out(f"{word} complete: {plural(done, 'operation')} in {res.seconds:.1f}s.")
    else:
        c.out(f"{word} finished with errors: {done} done, {res.count('failed')} failed, "
              f"{res.count('skipped')} skipped. State is saved; fix the errors and run it "
              "again.")


def state_summary(state: State) -> str:
    """A one-line description of a state (for `v2s show`)."""
    count = plural(len(state.resources), "resource")
    return f"lineage {state.lineage}, serial {state.serial}, {count}"
