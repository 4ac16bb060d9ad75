"""Subprocess for the kill test: export one disk, checkpointing to a file, SIGKILL half-way."""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path

from v2s_vmware.provider import VMwareProvider

from tests.vmware.conftest import LINEAGE, FakeContext
from vmware2scw.provider import ApplyRequest, ConfigureRequest


def main() -> None:
    job = json.loads(sys.argv[1])
    cp_file = Path(job["checkpoint_file"])
    p = VMwareProvider(environ={})
    p.configure(ConfigureRequest(settings=job["settings"], lineage=LINEAGE,
                                 work_dir=Path(job["work_dir"])))
    ctx = FakeContext(job["address"], Path(job["work_dir"]))

    def save(data: dict) -> None:
        tmp = cp_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(data))
        tmp.replace(cp_file)

    def kill_half_way(_c: FakeContext, phase: str, done: int | None, total: int | None) -> None:
        if phase == "export" and done is not None and total and done >= total // 2:
            os.kill(os.getpid(), signal.SIGKILL)  # no cleanup, no final checkpoint

    ctx.checkpoint = save  # type: ignore[method-assign]
    ctx.on_progress = kill_half_way
    p.apply(ApplyRequest(address=job["address"], type="disk_export", prior=None,
                         planned=job["planned"]), ctx)


if __name__ == "__main__":
    main()
