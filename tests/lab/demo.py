"""``make demo``: one VMware VM migrated to the Scaleway simulator, end to end, then undone.

Steps: get the cached lab guest (built once), bring the lab up (vcsim, moto, the
Scaleway simulator), write a demo ``v2s.yaml``, show ``v2s plan``, run ``v2s apply``
with live progress, show the migrated server's guest booting (its console line; the
``verify: {tcp: [22]}`` check waited for its sshd), show that a second plan has no
changes, run ``v2s destroy``, check that nothing is left, and print a summary of
timings and bytes moved. Every ``v2s`` command is a real process of the installed
entry point. ``tests/e2e`` calls :func:`run_demo` the same way.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.lab import pid_alive
from tests.lab.lab import MIGRATION, Lab

V2S = Path(sys.executable).with_name("v2s")


class DemoError(RuntimeError):
    """A demo step did not do what it should."""


@dataclass
class DemoResult:
    """What the demo saw: step timings, outputs, the boot, the report, what was left."""

    timings: dict[str, float] = field(default_factory=dict)
    outputs: dict[str, str] = field(default_factory=dict)
    exit_codes: dict[str, int] = field(default_factory=dict)
    boot: dict[str, Any] = field(default_factory=dict)
    report: dict[str, Any] = field(default_factory=dict)
    report_md: str = ""
    leftovers: list[str] = field(default_factory=list)
    lab_pids: dict[str, list[int]] = field(default_factory=dict)

    @property
    def bytes_moved(self) -> int:
        return int(self.report.get("bytes_moved") or 0)


@contextlib.contextmanager
def _timed(result: DemoResult, name: str) -> Iterator[None]:
    t0 = time.monotonic()
    try:
        yield
    finally:
        result.timings[name] = round(time.monotonic() - t0, 1)


def v2s(lab: Lab, *args: str, capture: bool = False, timeout: float = 1800,
        watch: Callable[[], str | None] | None = None) -> tuple[int, str]:
    """Run ``v2s -c v2s.yaml ARGS`` in the lab directory; (exit code, output if captured).

    ``watch`` is polled while it runs: a message stops v2s (Ctrl-C twice, as a user
    would) and raises DemoError with it.
    """
    env = {**os.environ, **lab.env, "PYTHONUNBUFFERED": "1"}
    argv = [str(V2S), "-c", str(lab.root / "v2s.yaml"), *args]
    out_file = tempfile.TemporaryFile("w+") if capture else None  # noqa: SIM115 - closed below
    proc = subprocess.Popen(argv, cwd=lab.root, env=env, stdin=subprocess.DEVNULL,
                            stdout=out_file, stderr=subprocess.STDOUT if capture else None,
                            text=True)
    deadline = time.monotonic() + timeout
    try:
        while proc.poll() is None:
            problem = watch() if watch is not None else None
            if problem is None and time.monotonic() > deadline:
                problem = f"`v2s {' '.join(args)}` still running after {timeout:.0f} s"
            if problem is not None:
                _interrupt(proc)
                raise DemoError(problem)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=2)
    except BaseException:  # Ctrl-C reaches v2s too: let it save its state, then go
        _interrupt(proc)
        raise
    finally:
        output = ""
        if out_file is not None:
            out_file.seek(0)
            output = out_file.read()
            out_file.close()
    return proc.returncode, output


def _interrupt(proc: subprocess.Popen[str]) -> None:
    """Stop v2s like a user would: Ctrl-C, Ctrl-C again, then kill."""
    for sig, wait in ((signal.SIGINT, 5.0), (signal.SIGINT, 60.0), (signal.SIGKILL, 10.0)):
        if proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=wait)


def _boot_failure(lab: Lab) -> str | None:
    """The first failed guest boot in the lab, as a message (for ``watch``)."""
    for rec in list(lab.boots.records.values()):
        if rec.state == "failed":
            return (f"the migrated server {rec.name} did not boot: {rec.reason}\n"
                    f"console (last lines):\n{rec.console_tail}")
    return None


def _banner(say: Callable[[str], None], text: str) -> None:
    say(f"\n=== {text} " + "=" * max(3, 72 - len(text)))


def _step(lab: Lab, result: DemoResult, name: str, say: Callable[[str], None],
          args: tuple[str, ...], *, capture: bool, expect: tuple[int, ...] = (0,)) -> str:
    _banner(say, f"v2s {' '.join(args)}")
    with _timed(result, name):
        code, out = v2s(lab, *args, capture=capture, watch=lambda: _boot_failure(lab))
    result.exit_codes[name] = code
    result.outputs[name] = out
    if capture and out:
        say(out.rstrip())
    if code == 130 and 130 not in expect:
        raise KeyboardInterrupt  # v2s was interrupted (Ctrl-C): tear the lab down
    if code not in expect:
        raise DemoError(f"`v2s {' '.join(args)}` exited {code} (expected {expect})")
    return out


def run_demo(lab: Lab, *, verify_boot: bool = False, capture: bool = False,
             say: Callable[[str], None] = print) -> DemoResult:
    """The demo's steps against a running lab; raises DemoError on the first failure."""
    result = DemoResult()
    result.timings.update({f"lab {k}": round(v, 1) for k, v in lab.timings.items()})
    cfg = lab.write_config(verify_boot=verify_boot)
    _banner(say, f"Demo config {cfg}")
    say(cfg.read_text().rstrip())
    _step(lab, result, "validate", say, ("validate",), capture=True)
    _step(lab, result, "plan", say, ("plan",), capture=True)
    _step(lab, result, "apply", say, ("apply", "-auto-approve"), capture=capture)

    result.report, result.report_md = _latest_report(lab.root / ".v2s")
    _banner(say, "The migrated server's disk boots")
    for m in result.report.get("migrations", []):
        for line in m.get("guest_changes", []):
            if line.startswith("verified"):
                say(f"before upload, the converted disk was {line}")
    result.boot = _boot_proof(lab)
    say(f"server {result.boot['name']} ({result.boot['server_id']}): {result.boot['state']} "
        f"after {result.boot['seconds']} s under qemu (OVMF, virtio-scsi, virtio-net)")
    say(f"console: {result.boot['marker']}")
    for guest, relay in sorted(result.boot["ports"].items()):
        say(f"guest port {guest} answered (reached at 127.0.0.1:{relay}), so verify_tcp passed")
    if result.report_md:
        _banner(say, "Run report")
        say(result.report_md.rstrip())

    _step(lab, result, "plan again", say, ("plan", "--detailed-exitcode"), capture=True)
    lab.boots.close_boots()  # the guest has done its job; free the CPU for the rest
    _step(lab, result, "destroy", say, ("destroy", "-auto-approve"), capture=capture)

    _banner(say, "Nothing left behind")
    result.leftovers = lab.leftovers(lab.root / ".v2s")
    result.lab_pids = lab.pids()
    if result.leftovers:
        raise DemoError("left behind after destroy:\n  " + "\n  ".join(result.leftovers))
    say("simulator: no server, volume, snapshot or image; bucket: no object or upload; "
        "work dir: no artifact; qemu: no process")
    return result


def _boot_proof(lab: Lab) -> dict[str, Any]:
    records = list(lab.boots.records.values())
    if not records:
        raise DemoError("the simulator never started a server, so nothing was booted")
    rec = records[-1]
    if rec.state != "up":
        raise DemoError(f"the migrated guest did not come up: {rec.reason}\n{rec.console_tail}")
    return rec.to_json()


def _latest_report(work_dir: Path) -> tuple[dict[str, Any], str]:
    reports = sorted((work_dir / "reports").glob("apply-*.json"))
    if not reports:
        return {}, ""
    data = json.loads(reports[-1].read_text())
    md = reports[-1].with_suffix(".md")
    return data, md.read_text() if md.exists() else ""


def _human(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{n:.0f} B"
        n /= 1024
    return f"{n:.1f} GiB"


def summary(result: DemoResult, total: float) -> str:
    """Timings per step and the bytes the data path moved."""
    lines = ["", "=== Summary " + "=" * 66]
    for name, secs in result.timings.items():
        lines.append(f"  {name:<16} {secs:8.1f} s")
    lines.append(f"  {'total':<16} {total:8.1f} s")
    stages: dict[str, tuple[int, float]] = {}
    for m in result.report.get("migrations", []):
        for row in m.get("rows", []):
            if row["operation"] == "apply":
                b, s = stages.get(row["stage"], (0, 0.0))
                stages[row["stage"]] = (b + int(row["bytes"]), s + float(row["seconds"]))
    for stage, (b, s) in stages.items():
        rate = f"  {_human(b / s)}/s" if b and s else ""
        size = _human(b) if b else "-"
        lines.append(f"  {stage:<16} {s:8.1f} s  {size:>10}{rate}")
    lines.append(f"  bytes moved (export + convert + upload): {_human(result.bytes_moved)}")
    return "\n".join(lines)


def _sigterm(_signum: int, _frame: Any) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.lab.demo", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--no-verify-boot", dest="verify_boot", action="store_false",
                        help="skip booting the converted disk before upload "
                             "(verify: {boot: true}); the server is still booted and checked")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, _sigterm)
    t0 = time.monotonic()
    print("=== Lab: cached guest, vcsim, moto S3, Scaleway simulator (first run builds the "
          "guest: several minutes)", flush=True)
    pids: dict[str, list[int]] = {}
    root = None
    try:
        with Lab() as lab:
            root = lab.root
            print(f"lab up in {sum(lab.timings.values()):.1f} s: vCenter {lab.vc.url}, "
                  f"S3 {lab.s3.endpoint_url}, Scaleway API {lab.sim.url}; VM {lab.vm_name} "
                  f"-> migration {MIGRATION}", flush=True)
            result = run_demo(lab, verify_boot=args.verify_boot,
                              say=lambda s: print(s, flush=True))
            pids = lab.pids()
    except DemoError as exc:
        print(f"\nDEMO FAILED: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nInterrupted: the lab was torn down.", file=sys.stderr)
        return 130
    stray = [f"{k} {p}" for k, ps in pids.items() for p in ps if pid_alive(p)]
    if root is not None and root.exists():
        stray.append(f"lab directory {root}")
    if stray:
        print(f"\nDEMO FAILED: left after teardown: {', '.join(stray)}", file=sys.stderr)
        return 1
    print(summary(result, time.monotonic() - t0))
    print("\nDemo complete: lab torn down, no process, object or file left.")
    return 0



if __name__ == "__main__":
    sys.exit(main())
