"""Counted nouns in messages: ``1 migration``, ``2 migrations``."""

from __future__ import annotations


def plural(count: int, noun: str, many: str | None = None) -> str:
    """``count`` and ``noun``, with ``many`` (default ``noun + "s"``) unless count is 1."""
    return f"{count} {noun if count == 1 else (many or noun + 's')}"
