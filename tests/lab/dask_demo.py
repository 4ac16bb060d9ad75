"""``make demo-dask``: a small wave over three migration hosts on a TLS Dask cluster.

A LocalCluster scheduler (mutual TLS) and three `v2s worker` processes (two in
fr-par-1, one in nl-ams-1) serve a wave of six test-provider migrations with timed
data-path resources; `v2s apply` runs as a real process, then the demo shows which host
ran each migration (from the state), that a second plan has no changes, and destroys.
Each host is a server of the Scaleway simulator: its `v2s worker` reads its name and
zone from that server's metadata service.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.cli.helpers import project_config, write_config
from tests.lab.dask_lab import DaskLab, make_certs
from tests.lab.scwsim import Simulator

V2S = Path(sys.executable).with_name("v2s")
WAVE = 6


def _v2s(directory: Path, *args: str) -> int:
    print(f"\n$ v2s {' '.join(args)}", flush=True)
    return subprocess.run([str(V2S), *args], cwd=directory, timeout=600,
                          stdin=subprocess.DEVNULL, check=False).returncode


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="v2s-dask-demo-") as tmp:
        root = Path(tmp)
        began = time.monotonic()
        sim = Simulator().start()
        lab = DaskLab(root, make_certs(root / "certs"), sim=sim).start()
        try:
            for name, zone in (("par-a", "fr-par-1"), ("par-b", "fr-par-1"),
                               ("ams-a", "nl-ams-1")):
                lab.add_worker(name, zone)
            lab.wait_workers(3)
            print(f"scheduler {lab.address}: 3 migration hosts up in "
                  f"{time.monotonic() - began:.1f} s")
            project = root / "project"
            project.mkdir()
            slow = {f"*.{t}*": 1.0 for t in ("disk_export", "qcow2_artifact", "s3_object")}
            cfg = project_config(str(project / "cloud.json"), vms=WAVE,
                                 knobs={"slow": slow, "progress_steps": 4}, extra={
                                     "settings": {"parallelism": 24, "executor":
                                                  lab.certs.executor(lab.address, project)}})
            for i in range(WAVE // 3):  # a third of the wave goes to Amsterdam
                cfg["migrations"][f"m{i:02d}"]["target"]["zone"] = "nl-ams-1"
            write_config(project, cfg)
            codes = [_v2s(project, "apply", "-auto-approve")]
            state = json.loads((project / "v2s.tfstate.json").read_text())
            print("\nwhere each migration's data path ran (state `host`):")
            for m in sorted(cfg["migrations"]):
                hosts = {r["host"] for a, r in state["resources"].items()
                         if a.startswith(f"migration.{m}.") and r["host"]}
                print(f"  {m}: {', '.join(sorted(hosts))}")
            codes.append(_v2s(project, "plan", "-detailed-exitcode"))
            codes.append(_v2s(project, "destroy", "-auto-approve"))
        finally:
            lab.stop()
            sim.stop()
        print(f"\ndemo-dask: exit codes {codes}, {time.monotonic() - began:.1f} s")
        return 0 if codes == [0, 0, 0] else 1


if __name__ == "__main__":
    sys.exit(main())
