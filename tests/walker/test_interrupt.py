"""Ctrl-C: the first stops scheduling and waits, the second cancels; state is saved both times."""

from __future__ import annotations

import os
import signal
from pathlib import Path

from tests.walker.helpers import MemoryStateManager, chain, make_provider, plan_of
from vmware2scw.progress import Event, EventKind
from vmware2scw.state.model import State, Status
from vmware2scw.walker import WalkOptions, walk


def _sigint() -> None:
    os.kill(os.getpid(), signal.SIGINT)


def test_first_sigint_stops_scheduling_and_waits_for_running_work(tmp_path: Path) -> None:
    prov = make_provider(tmp_path, slow={"migration.a.disk_export[0]": 0.3})
    sm = MemoryStateManager()

    def on_event(ev: Event) -> None:
        if ev.kind is EventKind.START and ev.address == "migration.a.disk_export[0]":
            _sigint()

    plan = plan_of(chain("a") + chain("b"))
    result = walk(plan, sm, {"test": prov},
                  WalkOptions(work_dir=tmp_path / "w", parallelism=2, on_event=on_event))
    assert result.interrupted and not result.cancelled and not result.ok
    by = {(o.address, o.operation): o.status for o in result.outcomes}
    assert by[("migration.a.disk_export[0]", "apply")] == "ok"  # in flight: finished
    assert by[("migration.a.scw_server", "apply")] == "not-started"
    finished = {a for (a, op), s in by.items() if s == "ok" and op == "apply"}
    assert finished <= set(sm.state.resources)  # state holds every finished resource
    assert all(r.status is not Status.TAINTED for r in sm.state.resources.values())
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # restored


def test_second_sigint_cancels_in_flight_work_and_keeps_checkpoints(tmp_path: Path) -> None:
    prov = make_provider(tmp_path, progress_steps=20,
                         slow={"migration.a.disk_export[0]": 20.0})
    sm = MemoryStateManager()
    sent: list[str] = []

    def on_event(ev: Event) -> None:
        if (ev.kind is EventKind.PROGRESS and ev.address == "migration.a.disk_export[0]"
                and not sent):
            sent.append("first")
            _sigint()
        elif ev.kind is EventKind.MESSAGE and ev.message.startswith("interrupt:"):
            sent.append("second")
            _sigint()

    result = walk(plan_of(chain("a")), sm, {"test": prov},
                  WalkOptions(work_dir=tmp_path / "w", on_event=on_event))
    assert sent == ["first", "second"]
    assert result.interrupted and result.cancelled
    assert result.seconds < 10  # did not wait the 20 s the export would take
    rec = sm.state.resources["migration.a.disk_export[0]"]
    assert rec.status is Status.TAINTED
    assert rec.checkpoint is not None and rec.checkpoint["step"] >= 1
    State.model_validate_json(sm.history[-1])
    # a rerun resumes from the checkpoint instead of starting over
    prov2 = make_provider(tmp_path, progress_steps=20)
    events: list[Event] = []
    walk(plan_of(chain("a")), sm, {"test": prov2},
         WalkOptions(work_dir=tmp_path / "w", on_event=events.append, handle_sigint=False))
    first = next(e for e in events if e.kind is EventKind.PROGRESS
                 and e.address == "migration.a.disk_export[0]")
    assert first.done is not None and first.done > (first.total or 0) // 20
    assert sm.state.resources["migration.a.scw_server"].status is Status.CREATED


STUBBORN = '''
import sys, time
from pathlib import Path
from tests.walker.helpers import CountingProvider, LINEAGE, change, plan_of
from vmware2scw.provider import ConfigureRequest
from vmware2scw.progress import PlainRenderer
from vmware2scw.state.local import LocalBackend
from vmware2scw.state.manager import StateManager
from vmware2scw.state.model import State
from vmware2scw.walker import WalkOptions, walk

class Stubborn(CountingProvider):
    def apply(self, req, ctx):
        print("applying", flush=True)
        time.sleep(60)  # ignores ctx.cancelled

d = Path(sys.argv[1])
prov = Stubborn()
prov.configure(ConfigureRequest(settings={}, lineage=LINEAGE, work_dir=d))
sm = StateManager(LocalBackend(d / "state.json"), state=State(lineage=LINEAGE))
walk(plan_of([change("migration.a.scw_server", "scw_server")]), sm, {"test": prov},
     WalkOptions(work_dir=d / "w", on_event=PlainRenderer(sys.stdout)))
'''


def test_third_sigint_exits_at_once_with_the_state_saved(tmp_path: Path) -> None:
    import subprocess
    import sys

    script = tmp_path / "stubborn.py"
    script.write_text(STUBBORN)
    root = Path(__file__).resolve().parents[2]
    proc = subprocess.Popen([sys.executable, str(script), str(tmp_path)], cwd=root,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            stdin=subprocess.DEVNULL,
                            env={**os.environ, "PYTHONPATH": str(root)})
    assert proc.stdout is not None
    for needle in ("applying", "interrupt:", "second interrupt", None):
        if needle is None:
            break
        for line in proc.stdout:
            if needle in line:
                break
        proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130 and "third interrupt" in err
    state = State.model_validate_json((tmp_path / "state.json").read_text())
    assert state.resources["migration.a.scw_server"].status is Status.TAINTED
