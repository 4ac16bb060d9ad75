"""Start the lab vcsim by hand: ``python -m tests.lab.vcsim [--vms-per-pool N] [--guest VMDK]``.

Prints the endpoint, the certificate to trust (or the thumbprint to pin) and GOVC_*
lines, then serves until Ctrl-C; everything it made is removed on exit.
"""

from __future__ import annotations

import argparse
import signal
import threading
from pathlib import Path

from tests.lab.scenario import VM, Disk, load
from tests.lab.vcsim import VSAN_DATASTORE, Vcsim


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.lab.vcsim")
    parser.add_argument("--vms-per-pool", type=int, default=2, help="model VMs per pool")
    parser.add_argument("--guest", type=Path, action="append", default=[],
                        help="a VMDK to place as the disk of a VM named after the file")
    args = parser.parse_args()
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with Vcsim(vms_per_pool=args.vms_per_pool) as vc:
        if args.guest:
            load(vc, [VM(p.stem, disks=(Disk(vmdk=p),)) for p in args.guest])
        print(f"vcsim: {vc.url}  (pid {vc.pid})")
        print(f"  datastore LocalDS_0: {vc.datastore_dir()}")
        print(f"  datastore {VSAN_DATASTORE} (vSAN-like): {vc.datastore_dir(VSAN_DATASTORE)}"
              f"  objects: {vc.vsan_objects_dir}")
        print(f"  guest writes: POST https://{vc.host}/v2s/write?vm=<moref>&disk=<key>&offset=<n>")
        print(f"  certificate: {vc.cert_file}\n  thumbprint (SHA-1): {vc.thumbprint}")
        print(f"export GOVC_URL={vc.url} GOVC_USERNAME={vc.username} "
              f"GOVC_PASSWORD={vc.password} GOVC_TLS_CA_CERTS={vc.cert_file}")
        print("Ctrl-C to stop.", flush=True)
        stop.wait()


if __name__ == "__main__":
    main()
