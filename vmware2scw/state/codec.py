"""State <-> bytes: versioned JSON, one resource per line, sorted by address.

``Encoder`` caches each resource's JSON by identity, so re-encoding a large state
after one resource changed costs a join, not a full dump (the walker persists at
every transition). ``loads`` refuses newer format versions and corrupt files.
"""

from __future__ import annotations

import json
import threading
from typing import Any

from pydantic import ValidationError

from vmware2scw.errors import StateError
from vmware2scw.state.model import STATE_FORMAT_VERSION, ResourceState, State

_HEADER_FIELDS = ("format_version", "lineage", "serial", "v2s_version")


class Encoder:
    """Encodes states, reusing the JSON of resource records it has seen before."""

    def __init__(self) -> None:
        self._cache: dict[str, tuple[ResourceState, bytes]] = {}
        self._mu = threading.Lock()

    def _resource(self, rs: ResourceState) -> bytes:
        hit = self._cache.get(rs.address)
        if hit is not None and hit[0] is rs:
            return hit[1]
        line = json.dumps(rs.address).encode() + b": " + rs.model_dump_json().encode()
        self._cache[rs.address] = (rs, line)
        return line

    def dumps(self, state: State) -> bytes:
        """The state as UTF-8 JSON bytes (deterministic for equal states)."""
        with self._mu:
            if len(self._cache) > 2 * len(state.resources) + 64:
                live = state.resources
                self._cache = {a: v for a, v in self._cache.items() if a in live}
            cache, records = self._cache, state.resources
            lines = []
            for address in sorted(records):
                rs, hit = records[address], cache.get(address)
                lines.append(hit[1] if hit is not None and hit[0] is rs else self._resource(rs))
        head = b"".join(
            b"  " + json.dumps(f).encode() + b": " + json.dumps(getattr(state, f)).encode() + b",\n"
            for f in _HEADER_FIELDS
        )
        outputs = json.dumps(state.outputs, sort_keys=True, ensure_ascii=False).encode()
        if not lines:
            return b"".join((b"{\n", head, b'  "outputs": ', outputs, b',\n  "resources": {}\n}\n'))
        parts = [b"{\n", head, b'  "outputs": ', outputs, b',\n  "resources": {\n    ']
        separated = [b""] * (2 * len(lines) - 1)
        separated[::2] = lines
        separated[1::2] = [b",\n    "] * (len(lines) - 1)
        parts += [*separated, b"\n  }\n}\n"]
        return b"".join(parts)  # one copy of the (large) body, not one per concatenation


def dumps(state: State) -> bytes:
    """The state as UTF-8 JSON bytes."""
    return Encoder().dumps(state)


def _newer(version: Any, source: str) -> StateError:
    return StateError(
        f"{source}: state format_version {version} was written by a newer v2s "
        f"(this v2s reads format_version {STATE_FORMAT_VERSION} and older)",
        hint="upgrade v2s to read this state; never edit format_version by hand",
    )


def _corrupt(source: str, why: str, backup: str | None) -> StateError:
    hint = (
        f"the previous version is kept in {backup}: check it, then restore it with "
        "`v2s state push -force FILE` (FILE: that backup, or a local copy of it)"
        if backup
        else "restore the file from a copy, or fix it by hand (it is JSON)"
    )
    return StateError(f"{source}: not a valid v2s state: {why}", hint=hint)


def loads(data: bytes | str, source: str, *, backup: str | None = None) -> State:
    """Parse state bytes read from ``source``; StateError names the file and the backup."""
    try:
        state = State.model_validate_json(data)
    except ValidationError as exc:
        raise _diagnose(data, source, backup, exc) from None
    if state.format_version > STATE_FORMAT_VERSION:
        raise _newer(state.format_version, source)
    if state.format_version < 1:
        raise _corrupt(source, f"format_version {state.format_version} is not valid", backup)
    for address, rs in state.resources.items():
        if rs.address != address:
            why = f"resource key {address!r} holds a record for {rs.address!r}"
            raise _corrupt(source, why, backup)
    return state


def _diagnose(
    data: bytes | str, source: str, backup: str | None, exc: ValidationError
) -> StateError:
    try:
        raw = json.loads(data)
    except (ValueError, UnicodeDecodeError) as bad:
        return _corrupt(source, f"invalid JSON ({bad})", backup)
    if not isinstance(raw, dict):
        return _corrupt(source, "the top level is not a JSON object", backup)
    version = raw.get("format_version")
    if isinstance(version, int) and version > STATE_FORMAT_VERSION:
        return _newer(version, source)
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "(top level)"
    return _corrupt(source, f"{where}: {first['msg']}", backup)


def json_schema() -> dict[str, Any]:
    """The JSON Schema of the state file."""
    schema = State.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "v2s state"
    return schema
