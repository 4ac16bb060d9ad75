"""Source VM patterns: a name, or a shell glob (``*``, ``?``, ``[...]``) matched with fnmatch."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Iterable

GLOB_CHARS = frozenset("*?[")


def is_glob(pattern: str) -> bool:
    """True when a source VM name is a pattern (``*``, ``?`` or ``[``)."""
    return not GLOB_CHARS.isdisjoint(pattern)


def literal(name: str) -> str:
    """A pattern matching exactly ``name``: ``web[1]`` -> ``web[[]1]``, ``a*`` -> ``a[*]``."""
    return "".join(f"[{ch}]" if ch in GLOB_CHARS else ch for ch in name)


def bracket_hint(pattern: str, names: Iterable[str]) -> str:
    """For a pattern with ``[``/``]``: how to match them literally (names a VM when one fits)."""
    if "[" not in pattern and "]" not in pattern:
        return ""
    if pattern in set(names):
        return (f"; '[...]' is a character class: to match the VM {pattern!r} itself "
                f"write {literal(pattern)!r}")
    return ("; '[...]' is a character class: write '[[]' for a literal '[' "
            "(']' alone is literal), e.g. 'web[[]1]' matches the VM 'web[1]'")


def name_filter(patterns: Iterable[str]) -> Callable[[str], bool]:
    """A test for VM names: all pass when no pattern; exact names by set lookup (a name
    equal to a pattern matches, glob characters or not), globs by one compiled regex."""
    pats = tuple(patterns)
    if not pats:
        return lambda _name: True
    exact = set(pats)
    globs = [p for p in pats if is_glob(p)]
    regex = re.compile("|".join(f"(?:{fnmatch.translate(g)})" for g in globs)) if globs else None
    return lambda name: name in exact or (regex is not None and regex.match(name) is not None)
