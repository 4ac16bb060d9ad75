"""``python -m tests.lab.scwsim --port N --s3-endpoint URL``: run the simulator by hand."""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys

from .server import Simulator


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.lab.scwsim", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 = a free port")
    parser.add_argument("--s3-endpoint", help="S3 endpoint for every region")
    parser.add_argument(
        "--s3-region-endpoint", action="append", default=[], metavar="REGION=URL",
        help="S3 endpoint of one region (repeatable; overrides --s3-endpoint)",
    )  # fmt: skip
    parser.add_argument("--s3-ca-bundle", help="CA bundle to verify a TLS S3 endpoint")
    parser.add_argument("--speed", type=float, default=1.0, help="simulated seconds per second")
    parser.add_argument("--import-rate", type=float, help="bytes/s of snapshot import downloads")
    parser.add_argument(
        "--migration-host", action="append", default=[], metavar="NAME",
        help="create a running migration host server (repeatable); prints its V2S_SCW_* env",
    )  # fmt: skip
    args = parser.parse_args(argv)
    endpoints = {}
    for item in args.s3_region_endpoint:
        region, sep, url = item.partition("=")
        if not sep or not url:
            parser.error(f"--s3-region-endpoint wants REGION=URL, got {item!r}")
        endpoints[region] = url
    sim = Simulator(
        s3_endpoint=args.s3_endpoint, s3_endpoints=endpoints, s3_verify=args.s3_ca_bundle or True,
        speed=args.speed, host=args.host, port=args.port, import_rate=args.import_rate,
    )  # fmt: skip
    with sim:
        print(f"Scaleway API simulator: {sim.url}", flush=True)
        for k, v in sim.env.items():
            print(f"export {k}={v}", flush=True)
        for name in args.migration_host:
            host = sim.create_host(name)
            print(f"# migration host {name} (server {host.server_id}):", flush=True)
            for k, v in host.env.items():
                print(f"export {k}={v}", flush=True)
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        with contextlib.suppress(KeyboardInterrupt, SystemExit):
            signal.pause()
    return 0


if __name__ == "__main__":
    sys.exit(main())
