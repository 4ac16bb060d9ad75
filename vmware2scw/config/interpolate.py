"""``${...}`` templates: parsing, reference discovery and resolution (``$${`` escapes).

A string that is exactly one ``${expr}`` takes the referenced value with its type; a
string mixing text and expressions becomes a string. Expressions are ``var.<name>``,
``env.<NAME>`` (resolved at load time) and ``<resource address>.<attribute>`` (resolved
at plan/apply time through a lookup that may answer :data:`vmware2scw.values.UNKNOWN`).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Final

from vmware2scw.addresses import AddressError, parse_reference
from vmware2scw.values import UNKNOWN

ESCAPE: Final = "$${"
OPEN: Final = "${"
_PATH_STEP = re.compile(r"\.?([A-Za-z_][A-Za-z0-9_-]*)|\[(\d+)\]")


class TemplateError(ValueError):
    """A malformed template or a value that cannot be interpolated; ``offset`` is 0-based."""

    def __init__(self, message: str, offset: int = 0):
        super().__init__(message)
        self.message = message
        self.offset = offset


@dataclass(frozen=True)
class Expr:
    """One ``${...}`` occurrence: its stripped text and its offset in the string."""

    text: str
    offset: int


Part = str | Expr
KEEP: Final = object()  # returned by a resolver to leave ``${expr}`` untouched


def parse_template(text: str) -> list[Part]:
    """Split a string into literal text and expressions; escapes stay as ``$${``."""
    parts: list[Part] = []
    buf: list[str] = []
    i = 0
    n = len(text)
    while i < n:
        if text.startswith(ESCAPE, i):
            buf.append(ESCAPE)
            i += 3
        elif text.startswith(OPEN, i):
            end = _closing_brace(text, i)
            expr = text[i + 2 : end].strip()
            if not expr:
                raise TemplateError("empty '${}' expression", i)
            if buf:
                parts.append("".join(buf))
                buf = []
            parts.append(Expr(expr, i))
            i = end + 1
        else:
            nxt = text.find("$", i + 1)
            nxt = n if nxt < 0 else nxt
            buf.append(text[i:nxt])
            i = nxt
    if buf:
        parts.append("".join(buf))
    return parts


def _closing_brace(text: str, start: int) -> int:
    """Index of the ``}`` closing the ``${`` at ``start``; ``"..."`` keys may hold anything."""
    j = start + 2
    end = text.find("}", j)
    if end >= 0 and '"' not in text[j:end] and OPEN not in text[j:end]:
        return end  # the common case, without a character loop
    n = len(text)
    while j < n:
        ch = text[j]
        if ch == '"':
            j += 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            if j >= n:
                raise TemplateError("unterminated quoted key inside '${...}'", start)
        elif ch == "}":
            return j
        elif text.startswith(OPEN, j):
            raise TemplateError("nested '${' is not supported", start)
        j += 1
    raise TemplateError("unterminated '${' (close it with '}' or escape as '$${')", start)


def has_template(text: str) -> bool:
    """Cheap check: may this string hold an expression or escape?"""
    return "${" in text


def literal(text: str) -> str:
    """Escape a plain string (e.g. a VM name) so that resolution gives it back unchanged."""
    return text.replace(OPEN, ESCAPE) if OPEN in text else text


def to_text(value: Any, offset: int = 0) -> str:
    """Render a scalar for use inside a larger string."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    if isinstance(value, int | float | str):
        return str(value)
    raise TemplateError(
        f"a {type(value).__name__} cannot be embedded in a string; "
        "make the reference the whole value",
        offset,
    )


def substitute(text: str, resolver: Callable[[Expr], Any], *, keep_escapes: bool = False) -> Any:
    """Replace every expression by ``resolver(expr)`` (or keep it when that returns KEEP)."""
    if not has_template(text):
        return text
    parts = parse_template(text)
    if len(parts) == 1 and isinstance(parts[0], Expr):
        value = resolver(parts[0])
        return OPEN + parts[0].text + "}" if value is KEEP else value
    out: list[str] = []
    unknown = False
    for part in parts:
        if isinstance(part, str):
            out.append(part if keep_escapes else part.replace(ESCAPE, OPEN))
            continue
        value = resolver(part)
        if value is KEEP:
            out.append(OPEN + part.text + "}")
        elif value is UNKNOWN:
            unknown = True
        else:
            out.append(to_text(value, part.offset))
    return UNKNOWN if unknown else "".join(out)


def iter_strings(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """Every string inside nested dicts/lists, with its attribute path (``a.b``, ``l[0]``)."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from iter_strings(v, f"{path}.{k}" if path else str(k))
    elif isinstance(value, list | tuple):
        for i, v in enumerate(value):
            yield from iter_strings(v, f"{path}[{i}]")


def is_address_expr(expr: str) -> bool:
    """True when an expression refers to a resource (not ``var.``/``env.``)."""
    return expr.startswith("migration.")


@functools.lru_cache(maxsize=65536)  # each reference is split at expansion and planning
def split_reference(expr: str) -> tuple[str, str]:
    """``migration.a.server.id`` -> (``migration.a.server``, ``id``)."""
    try:
        addr, attr = parse_reference(expr)
    except AddressError as exc:
        raise TemplateError(exc.message) from None
    return str(addr), attr


def references(value: Any) -> set[tuple[str, str]]:
    """Every ``(address, attribute)`` referenced inside ``value`` (escapes ignored)."""
    found: set[tuple[str, str]] = set()
    for _, text in iter_strings(value):
        if not has_template(text):
            continue
        for part in parse_template(text):
            if isinstance(part, Expr) and is_address_expr(part.text):
                found.add(split_reference(part.text))
    return found


def get_attribute(attrs: Any, attr: str) -> Any:
    """Follow an attribute path (``id``, ``ips[0]``, ``a.b``); KeyError if absent."""
    value = attrs
    pos = 0
    while pos < len(attr):
        m = _PATH_STEP.match(attr, pos)
        if not m:
            raise KeyError(attr)
        pos = m.end()
        if value is UNKNOWN:
            return UNKNOWN
        if m.group(1) is not None:
            if not isinstance(value, dict) or m.group(1) not in value:
                raise KeyError(attr)
            value = value[m.group(1)]
        else:
            idx = int(m.group(2))
            if not isinstance(value, list | tuple) or idx >= len(value):
                raise KeyError(attr)
            value = value[idx]
    return value


def resolve(value: Any, lookup: Callable[[str, str], Any], path: str = "") -> tuple[Any, list[str]]:
    """Resolve resource references and escapes; return the value and the paths left unknown.

    ``lookup(address, attribute)`` returns the value or UNKNOWN. A string that depends on
    an unknown value becomes UNKNOWN as a whole.
    """
    unknown: list[str] = []
    result = _resolve(value, lookup, path, unknown)
    return result, unknown


def _resolve(value: Any, lookup: Callable[[str, str], Any], path: str, unknown: list[str]) -> Any:
    if isinstance(value, str):
        if not has_template(value):
            return value

        def by_lookup(expr: Expr) -> Any:
            if not is_address_expr(expr.text):
                raise TemplateError(f"unresolved expression '${{{expr.text}}}'", expr.offset)
            address, attr = split_reference(expr.text)
            return lookup(address, attr)

        out = substitute(value, by_lookup)
        if out is UNKNOWN:
            unknown.append(path)
        return out
    if isinstance(value, dict):
        return {
            k: v if _plain(v) else _resolve(v, lookup, f"{path}.{k}" if path else str(k), unknown)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [v if _plain(v) else _resolve(v, lookup, f"{path}[{i}]", unknown)
                for i, v in enumerate(value)]
    if value is UNKNOWN:
        unknown.append(path)
    return value


def _plain(value: Any) -> bool:
    """A value resolution leaves as it is: a number, bool, None or a string without ``${``."""
    if isinstance(value, str):
        return OPEN not in value
    return value is not UNKNOWN and not isinstance(value, dict | list | tuple)
