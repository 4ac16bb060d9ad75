"""Scaleway's naming rules, checked at plan time (docs/scaleway.md#names).

Instances API (``name`` of a server): only letters, digits, dots, spaces and dashes.
The server name also becomes the Instance's hostname, so it is one DNS label: at most
63 characters, starting and ending with a letter or digit. Snapshot and image names
follow the same alphabet, at most 255 characters.
"""

from __future__ import annotations

import re
import unicodedata

SERVER_MAX = 63
OBJECT_MAX = 255
_ALLOWED = re.compile(r"[A-Za-z0-9. -]*")
_EDGE = re.compile(r"\A[A-Za-z0-9](.*[A-Za-z0-9])?\Z", re.DOTALL)
_UNSAFE_RUN = re.compile(r"[^A-Za-z0-9.-]+")


def problem(name: str, *, limit: int, what: str) -> str | None:
    """Why ``name`` breaks the rules (None when it is fine)."""
    if not name:
        return f"{what} is empty"
    bad = sorted({c for c in name if not _ALLOWED.fullmatch(c)})
    if any(unicodedata.category(c).startswith("C") for c in bad):
        return f"{what} {name!r} contains control characters"
    if bad:
        shown = " ".join(repr(c) for c in bad[:5])
        return (f"{what} {name!r} contains {shown}; Scaleway allows only letters, digits, "
                "'.', ' ' and '-'")
    if len(name) > limit:
        return f"{what} {name!r} is {len(name)} characters long; the limit is {limit}"
    if not _EDGE.match(name):
        return f"{what} {name!r} must start and end with a letter or a digit"
    return None


def from_vm_name(vm_name: str) -> str | None:
    """A server name derived from a VM name, or None when it cannot be derived faithfully.

    Accents are folded (``Müller-01`` -> ``Muller-01``); other characters outside the
    alphabet become ``-``. A name in another script (``сервер-01``) is never guessed:
    the migration must set ``target.name``.
    """
    folded = "".join(c for c in unicodedata.normalize("NFKD", vm_name)
                     if not unicodedata.combining(c))
    if any(ord(c) > 127 and c.isalpha() for c in folded):
        return None
    return _UNSAFE_RUN.sub("-", folded).strip("-.") or None
