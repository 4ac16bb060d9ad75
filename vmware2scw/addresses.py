"""Resource addresses: ``migration.<name>[\"<key>\"].<type>[<index>]`` (docs/resources.md).

``migration.web-01.disk_export[0]``, ``migration.app["app-03"].scw_server``. A partial
address (``migration.web-01``, ``migration.app``) names every resource below it, which is
what ``-target`` uses. The key of a wildcard instance is the VM name, quoted like JSON.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from vmware2scw.errors import V2SError

NAME_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]*")
TYPE_RE = re.compile(r"[a-z][a-z0-9_]*")
_QUOTED_RE = re.compile(r'"(?:[^"\\]|\\.)*"')
_INDEX_RE = re.compile(r"\[(\d+)\]")


class AddressError(V2SError):
    """A string is not a valid resource address."""


@dataclass(frozen=True, order=True)
class Address:
    """A parsed address; ``key``/``type``/``index`` are None when absent."""

    migration: str
    key: str | None = None
    type: str | None = None
    index: int | None = None

    @property
    def instance(self) -> str:
        """The migration instance: ``web-01`` or ``app["app-03"]``."""
        if self.key is None:
            return self.migration
        return f"{self.migration}[{quote_key(self.key)}]"

    @property
    def module(self) -> str:
        """The address of the migration instance: ``migration.web-01``."""
        return f"migration.{self.instance}"

    @property
    def is_resource(self) -> bool:
        """True when the address names one resource (it has a type)."""
        return self.type is not None

    def __str__(self) -> str:
        text = self.module
        if self.type is not None:
            text += f".{self.type}"
            if self.index is not None:
                text += f"[{self.index}]"
        return text

    def contains(self, other: Address) -> bool:
        """True when ``other`` is this address or lies below it (``-target`` semantics)."""
        if self.migration != other.migration:
            return False
        if self.key is not None and self.key != other.key:
            return False
        if self.type is None:
            return True
        if self.type != other.type:
            return False
        return self.index is None or self.index == other.index


def quote_key(key: str) -> str:
    """Quote a wildcard instance key (a VM name) the way addresses write it."""
    return json.dumps(key, ensure_ascii=False)


def resource_address(
    migration: str, type_: str, *, key: str | None = None, index: int | None = None
) -> str:
    """Format the address of one resource."""
    return str(Address(migration, key, type_, index))


def _parse_prefix(text: str) -> tuple[Address, int]:
    """Parse the longest address at the start of ``text``; return it and where it ended."""
    if not text.startswith("migration."):
        raise AddressError(f"address {text!r} must start with 'migration.'")
    pos = len("migration.")
    m = NAME_RE.match(text, pos)
    if not m:
        raise AddressError(f"address {text!r} has no migration name after 'migration.'")
    name, pos = m.group(0), m.end()
    key: str | None = None
    if text.startswith("[", pos):
        q = _QUOTED_RE.match(text, pos + 1)
        if not q or not text.startswith("]", q.end()):
            raise AddressError(f'address {text!r}: an instance key is written ["<vm name>"]')
        key = json.loads(q.group(0))
        pos = q.end() + 1
    type_: str | None = None
    index: int | None = None
    if text.startswith(".", pos):
        t = TYPE_RE.match(text, pos + 1)
        if t:
            type_, pos = t.group(0), t.end()
            i = _INDEX_RE.match(text, pos)
            if i:
                index, pos = int(i.group(1)), i.end()
    return Address(name, key, type_, index), pos


def parse(text: str) -> Address:
    """Parse a full or partial address; raise AddressError when it is malformed."""
    text = text.strip()
    addr, end = _parse_prefix(text)
    if end != len(text):
        raise AddressError(f"address {text!r} has unexpected text {text[end:]!r}")
    return addr


def parse_reference(text: str) -> tuple[Address, str]:
    """Parse ``<resource address>.<attribute>`` (attribute may be a path like ``ips[0]``)."""
    text = text.strip()
    addr, end = _parse_prefix(text)
    if addr.type is None:
        raise AddressError(
            f"reference {text!r} must name a resource and an attribute, "
            "e.g. migration.web-01.scw_server.id"
        )
    rest = text[end:]
    if not rest.startswith(".") or len(rest) < 2:
        # `migration.web-01.scw_server` alone, or `...scw_image` parsed greedily as a type
        raise AddressError(f"reference {text!r} has no attribute; write e.g. {addr}.id")
    return addr, rest[1:]


def try_parse(text: str) -> Address | None:
    """Parse or return None."""
    try:
        return parse(text)
    except AddressError:
        return None
