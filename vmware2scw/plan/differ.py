"""Attribute diffs as paths: deepdiff output converted at once; deepdiff types stay here.

A path names one value inside a resource's attributes: ``name``, ``tags[0]``,
``disks[2]``, ``limits.cpu``, ``labels["app/x"]``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

PathPart = str | int

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]*$")
_HEAD = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]*")
_TOKEN = re.compile(r'\.([A-Za-z_][A-Za-z0-9_\-]*)|\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]')


def format_path(parts: Iterable[PathPart]) -> str:
    """``["tags", 0]`` -> ``tags[0]``; odd keys are quoted: ``labels["a/b"]``."""
    out: list[str] = []
    for part in parts:
        if isinstance(part, int):
            out.append(f"[{part}]")
        elif _IDENT.match(part):
            out.append(f".{part}" if out else part)
        else:
            out.append(f"[{json.dumps(part)}]")
    return "".join(out)


def parse_path(path: str) -> list[PathPart]:
    """The inverse of :func:`format_path`; raises ValueError on a malformed path."""
    head = _HEAD.match(path)
    parts: list[PathPart] = []
    pos = 0
    if head:
        parts.append(head.group(0))
        pos = head.end()
    while pos < len(path):
        m = _TOKEN.match(path, pos)
        if not m:
            raise ValueError(f"malformed attribute path {path!r} at offset {pos}")
        name, index, quoted = m.groups()
        parts.append(name if name is not None else int(index) if index is not None
                     else json.loads(quoted))
        pos = m.end()
    return parts


def top_level(path: str) -> str:
    """The attribute a path starts at: ``tags[0]`` -> ``tags``."""
    head = _HEAD.match(path)
    if head:
        return head.group(0)
    parts = parse_path(path)
    return str(parts[0]) if parts else path


def is_under(path: str, prefix: str) -> bool:
    """True when ``path`` is ``prefix`` or inside it."""
    return path == prefix or path.startswith((prefix + ".", prefix + "["))


def changed_paths(
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any] | None,
    unknown: Iterable[str] = (),
) -> tuple[str, ...]:
    """Sorted paths whose value differs ``before`` -> ``after``, plus the unknown ones.

    A create (``before is None``) or a delete (``after is None``) has no paths: the
    whole object changes.
    """
    if before is None or after is None:
        return ()
    found = set(unknown)
    if before == after:
        return tuple(sorted(found))
    from deepdiff import DeepDiff  # imported on the first update: 0.15 s a plan of creates skips

    diff = DeepDiff(dict(before), dict(after), view="tree", verbose_level=2)
    for _kind, levels in diff.items():
        for level in levels:
            found.add(format_path(level.path(output_format="list")))
    return tuple(sorted(found))


def without_keys(attrs: Mapping[str, Any] | None, keys: Iterable[str]) -> dict[str, Any] | None:
    """A copy of ``attrs`` minus ``keys`` (used to withhold sensitive attributes)."""
    if attrs is None:
        return None
    drop = set(keys)
    return {k: v for k, v in attrs.items() if k not in drop}
