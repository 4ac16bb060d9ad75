"""CLI: ``python -m tests.lab.guest build VARIANT`` (prints the guest's description)."""

from __future__ import annotations

import argparse
import json
import sys

from tests.lab.guest.build import build_guest
from tests.lab.guest.disk import VARIANTS


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.lab.guest")
    sub = parser.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build", help="build (or find in the cache) one guest variant")
    b.add_argument("variant", choices=sorted(VARIANTS))
    args = parser.parse_args(argv)
    g = build_guest(args.variant)
    print(
        json.dumps(
            {
                "variant": g.variant,
                "firmware": g.firmware,
                "directory": str(g.directory),
                "flat": [str(p) for p in g.flat],
                "descriptors": [str(p) for p in g.descriptors],
                "stream": [str(p) for p in g.stream],
                "root_device": g.root_device,
                "static_ip": g.static_ip,
            },
            indent=2,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
