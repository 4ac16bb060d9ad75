"""Child process: apply one resource and die by SIGKILL at its first checkpoint.

The first checkpoint comes right after the create call returns, before any
state could be saved: the parent then checks the next run adopts the object.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path
from typing import Any

from v2s_scaleway.provider import ScalewayProvider

from vmware2scw.provider import ApplyRequest, ConfigureRequest
from vmware2scw.testing import RecordingContext


class DieAtCheckpoint(RecordingContext):
    def checkpoint(self, data: dict[str, Any]) -> None:
        os.kill(os.getpid(), signal.SIGKILL)


def main() -> None:
    spec = json.loads(sys.argv[1])
    prov = ScalewayProvider()  # SCW_* from the environment (the simulator's)
    prov.configure(ConfigureRequest(settings=spec["settings"], lineage=spec["lineage"],
                                    work_dir=Path(spec["work_dir"])))
    ctx = DieAtCheckpoint(spec["address"], lineage=spec["lineage"])
    prov.apply(ApplyRequest(address=spec["address"], type=spec["type"], prior=None,
                            planned=spec["planned"]), ctx)
    sys.exit(3)  # not reached when the kill works


if __name__ == "__main__":
    main()
