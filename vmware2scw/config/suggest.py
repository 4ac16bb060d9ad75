""" "Did you mean" suggestions (difflib)."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def closest(word: str, candidates: Iterable[str], cutoff: float = 0.6) -> str | None:
    """The candidate nearest to ``word``, or None when nothing is close."""
    pool = list(dict.fromkeys(candidates))
    found = difflib.get_close_matches(word, pool, n=1, cutoff=cutoff)
    if found:
        return found[0]
    lowered = {c.lower(): c for c in pool}
    return lowered.get(word.lower())


def did_you_mean(word: str, candidates: Iterable[str], cutoff: float = 0.6) -> str:
    """`` (did you mean 'x'?)`` or an empty string."""
    match = closest(word, candidates, cutoff)
    return f"; did you mean {match!r}?" if match else ""


def nearest(word: str, candidates: Iterable[str]) -> str | None:
    """The closest candidate however far (for 'a reference to nothing names the nearest')."""
    pool = list(dict.fromkeys(candidates))
    found = difflib.get_close_matches(word, pool, n=1, cutoff=0.0)  # quick-ratio filtered
    return found[0] if found else None
