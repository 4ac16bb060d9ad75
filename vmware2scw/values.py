"""Values known only after apply: the ``UNKNOWN`` sentinel and helpers around it."""

from __future__ import annotations

from typing import Any, Final, final


@final
class Unknown:
    """The type of :data:`UNKNOWN`; one instance only, falsy, never equal to a real value."""

    _instance: Unknown | None = None

    def __new__(cls) -> Unknown:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "(known after apply)"

    def __bool__(self) -> bool:
        return False

    def __reduce__(self) -> str:
        return "UNKNOWN"

    def __copy__(self) -> Unknown:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> Unknown:
        return self


UNKNOWN: Final = Unknown()
"""A value the provider computes during apply (e.g. a server id)."""

UNKNOWN_TEXT: Final = "(known after apply)"


def is_unknown(value: object) -> bool:
    """True when ``value`` is the UNKNOWN sentinel."""
    return value is UNKNOWN


def contains_unknown(value: object) -> bool:
    """True when UNKNOWN appears anywhere inside ``value`` (dicts, lists, tuples)."""
    if value is UNKNOWN:
        return True
    if not isinstance(value, dict | list | tuple):
        return False
    stack: list[Any] = [value]
    while stack:  # iterative: this runs for every attribute of every planned resource
        node = stack.pop()
        for item in node.values() if isinstance(node, dict) else node:
            if item is UNKNOWN:
                return True
            if isinstance(item, dict | list | tuple):
                stack.append(item)
    return False
