"""Find-before-create: objects tagged with this lineage and address are adopted, never duplicated.

The API's tag filters match *any* of the given tags (Block) or are loosely
documented (Instance), so every listing is filtered again here on *all* tags.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from typing import TypeVar

from vmware2scw.errors import TransientError

from .client import MaybeAppliedError

T = TypeVar("T")
log = logging.getLogger("v2s.scaleway")
V2S_PREFIX = "v2s-"


def has_tags(obj_tags: Iterable[str], wanted: Iterable[str]) -> bool:
    """True when every wanted tag is on the object."""
    have = set(obj_tags)
    return all(t in have for t in wanted)


def tag_value(obj_tags: Iterable[str], name: str) -> str | None:
    """The value of ``name=value`` among the tags, if any."""
    prefix = f"{name}="
    for t in obj_tags:
        if t.startswith(prefix):
            return t[len(prefix):]
    return None


def address_tag(ctx_tags: Sequence[str]) -> str:
    """The tag to filter listings on: ``v2s-address=…`` (the narrowest), unless it holds a
    comma (Instance filters split on commas): then the lineage tag."""
    for t in ctx_tags:
        if t.startswith("v2s-address=") and "," not in t:
            return t
    for t in ctx_tags:
        if t.startswith("v2s-lineage="):
            return t
    return ctx_tags[-1]


def user_tags(obj_tags: Iterable[str]) -> list[str]:
    """The tags a user asked for: everything but v2s' own ``v2s-…=`` tags."""
    return [t for t in obj_tags if not (t.startswith(V2S_PREFIX) and "=" in t)]


def object_tags(ctx_tags: Sequence[str], extra: Iterable[str] | None) -> list[str]:
    """Tags to put on a new object: v2s' lineage/address tags, then the user's (deduplicated)."""
    out = list(ctx_tags)
    for t in extra or ():
        if t not in out:
            out.append(t)
    return out


def create_once(
    find: Callable[[], T | None],
    create: Callable[[], T],
    *,
    what: str,
    address: str,
) -> tuple[T, bool]:
    """Adopt what ``find`` returns, else ``create``; returns ``(object, adopted)``.

    A create that may have reached the server (reset, 5xx) is never repeated here: it
    raises TransientError, and the walker's next try finds the object by its tags.
    """
    found = find()
    if found is not None:
        log.info("%s: adopting existing %s", address, what)
        return found, True
    try:
        return create(), False
    except MaybeAppliedError as exc:
        raise TransientError(
            f"creating {what} failed: {exc.message}", address=address, retry_after=exc.retry_after,
            hint="the next try (or apply) finds the object by its tags if it was created",
        ) from None


def pick_one(items: list[T], what: str, address: str) -> T | None:
    """The first of several tagged objects (warn: duplicates should not exist)."""
    if len(items) > 1:
        log.warning("%s: %d %s objects carry this address; using the first", address,
                    len(items), what)
    return items[0] if items else None
