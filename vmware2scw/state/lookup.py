"""Reading ``${address.attribute}`` references against a state (apply time, outputs)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from vmware2scw.config.interpolate import get_attribute
from vmware2scw.state.model import State, Status
from vmware2scw.values import UNKNOWN


def state_lookup(state: State) -> Callable[[str, str], Any]:
    """A lookup for ``interpolate.resolve``: attributes of resources created in ``state``.

    A resource missing, tainted (an unfinished create) or without that attribute is UNKNOWN.
    """

    def lookup(address: str, attr: str) -> Any:
        rec = state.resources.get(address)
        if rec is None or rec.status is Status.TAINTED:
            return UNKNOWN
        try:
            return get_attribute(rec.attributes, attr)
        except KeyError:
            return UNKNOWN

    return lookup
