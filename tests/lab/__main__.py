"""``python -m tests.lab up|down|status``: run the lab by hand and point ``v2s`` at it.

``up`` brings the lab up (see tests/lab/lab.py), writes ``v2s.yaml`` and ``lab.env``
into the lab directory, prints how to use them and stays in the foreground until
Ctrl-C (or ``down`` from another terminal). ``up --detach`` runs it in the background.
``status`` prints the running lab's endpoints and processes; ``down`` stops it, which
removes every process and file the lab made.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import requests

from tests.lab import pid_alive
from tests.lab.lab import Lab, save_info

INFO = Path(os.environ.get("V2S_LAB_INFO", f"/tmp/v2s-lab-{os.getuid()}.json"))
LOG = INFO.with_suffix(".log")  # output of a detached lab


def _read_info() -> dict[str, Any] | None:
    try:
        data: dict[str, Any] = json.loads(INFO.read_text())
    except (OSError, ValueError):
        return None
    return data



def _usage(info: dict[str, Any]) -> str:
    return (
        f"The v2s lab is up (pid {info['pid']}).\n"
        f"  vCenter (vcsim)   {info['vcenter']}  (CA: {info['vcenter_ca_file']})\n"
        f"  S3 (moto)         {info['s3']}\n"
        f"  Scaleway API sim  {info['scaleway_api']}\n"
        f"  guest boots       {info['boots']}/boots\n"
        + "".join(f"  migration host    {h['server_id']}  metadata {h['V2S_SCW_METADATA_URL']}\n"
                  for h in info.get("migration_hosts", []))
        + f"  source VM         {info['vm']}\n\n"
        "Point v2s at it:\n"
        f"  cd {info['root']}\n"
        f"  set -a; . {info['env_file']}; set +a\n"
        "  v2s plan\n  v2s apply\n  v2s destroy\n\n"
        "Stop it with Ctrl-C here or `python -m tests.lab down`."
    )


def _interrupt(_signum: int, _frame: Any) -> None:
    raise KeyboardInterrupt


def up(detach: bool) -> int:
    current = _read_info()
    if current and pid_alive(int(current["pid"])):
        print(f"A lab is already running (pid {current['pid']}); `python -m tests.lab down` "
              "first.", file=sys.stderr)
        return 1
    if detach:
        log = LOG
        with log.open("wb") as out:
            proc = subprocess.Popen([sys.executable, "-m", "tests.lab", "up"],
                                    stdin=subprocess.DEVNULL, stdout=out,
                                    stderr=subprocess.STDOUT, start_new_session=True,
                                    cwd=Path(__file__).resolve().parents[2])
        deadline = time.monotonic() + 1800  # a cold cache builds the guest first
        while time.monotonic() < deadline:
            info = _read_info()
            if info and int(info["pid"]) == proc.pid:
                print(_usage(info))
                print(f"(running in the background; its output goes to {log})")
                return 0
            if proc.poll() is not None:
                print(log.read_text(errors="replace")[-3000:], file=sys.stderr)
                return 1
            time.sleep(0.5)
        print("the lab did not come up in time", file=sys.stderr)
        return 1
    signal.signal(signal.SIGTERM, _interrupt)
    print("Starting the lab (the first run builds the guest: several minutes)...", flush=True)
    try:
        with Lab() as lab:
            lab.write_config()
            save_info(lab, INFO)
            try:
                print(_usage(lab.describe()), flush=True)
                while True:
                    time.sleep(3600)
            finally:
                with contextlib.suppress(OSError):
                    INFO.unlink()
    except KeyboardInterrupt:
        pass
    print("The lab is down: processes stopped, files removed.", flush=True)
    return 0


def down() -> int:
    info = _read_info()
    if not info or not pid_alive(int(info["pid"])):
        print("No lab is running.")
        with contextlib.suppress(OSError):
            INFO.unlink()
        return 0
    pid = int(info["pid"])
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 120
    while pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    if pid_alive(pid):
        print(f"the lab (pid {pid}) did not stop within 2 minutes", file=sys.stderr)
        return 1
    with contextlib.suppress(OSError):
        LOG.unlink()
    print("The lab is down.")
    return 0


def status() -> int:
    info = _read_info()
    if not info or not pid_alive(int(info["pid"])):
        print("No lab is running.")
        return 3
    print(_usage(info))
    with contextlib.suppress(requests.RequestException, ValueError):
        boots = requests.get(info["boots"] + "/boots", timeout=5).json()
        for sid, rec in boots.items():
            print(f"  boot of {rec['name']} ({sid}): {rec['state']} {rec['reason']}"
                  f"{'  ' + rec['marker'] if rec['marker'] else ''}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.lab", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="cmd", required=True)
    p_up = sub.add_parser("up", help="bring the lab up (foreground unless --detach)")
    p_up.add_argument("--detach", action="store_true", help="run it in the background")
    sub.add_parser("down", help="stop the running lab")
    sub.add_parser("status", help="show the running lab")
    args = parser.parse_args(argv)
    if args.cmd == "up":
        return up(args.detach)
    if args.cmd == "down":
        return down()
    return status()


if __name__ == "__main__":
    sys.exit(main())
