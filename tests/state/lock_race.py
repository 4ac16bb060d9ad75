"""A child process for the lock tests: waits for "go", takes the state lock, holds it.

Usage: python -m tests.state.lock_race '<backend block as JSON>' <operation>
Prints "ready"; on "go" prints "locked <id>" and holds the lock until stdin closes
(exit 0), or prints the LockError to stderr and exits 3, as `v2s apply` would.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from vmware2scw.errors import LockError
from vmware2scw.state.backend import from_config
from vmware2scw.state.lock import held


def main() -> int:
    block, operation = json.loads(sys.argv[1]), sys.argv[2]
    backend = from_config(block, Path.cwd())
    print("ready", flush=True)
    if sys.stdin.readline().strip() != "go":
        return 2
    try:
        with held(backend, operation) as info:
            print(f"locked {info.id}", flush=True)
            sys.stdin.read()  # hold until the parent closes our stdin (or we are killed)
    except LockError as exc:
        print(exc, file=sys.stderr, flush=True)
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
