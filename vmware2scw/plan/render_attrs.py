"""Attribute lines of one change, shared by every renderer: aligned on ``=``, unknown
values shown as (known after apply), sensitive ones masked, unchanged ones counted."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from vmware2scw.plan.action import Action
from vmware2scw.plan.differ import is_under, top_level
from vmware2scw.plan.model import ResourceChange
from vmware2scw.values import UNKNOWN_TEXT

SENSITIVE_TEXT = "(sensitive value)"
_INLINE = 72  # longer lists/maps are broken over lines


def attribute_lines(change: ResourceChange) -> list[str]:
    """Attribute lines, aligned on ``=``, with unknowns and sensitive values masked."""
    before = change.before or {}
    after = change.after or {}
    unknown = change.after_unknown
    rows: list[tuple[str, str, str, str]] = []  # marker, key, text, comment
    marker = {Action.CREATE: "+", Action.DELETE: "-"}.get(change.action, " ")
    rows += [(marker, key, SENSITIVE_TEXT, "") for key in change.sensitive_paths]
    hidden = 0
    forced = {top_level(p) for p in change.replace_paths}
    changed = {top_level(p) for p in change.changed_paths}
    if change.action is Action.DELETE:
        rows += [("-", k, _fmt(before[k]), "") for k in sorted(before)]
    elif change.action is Action.CREATE or (change.action.is_replace and not before):
        rows += [("+", k, _value(after, k, unknown), "") for k in sorted(after)]
    else:
        for key in sorted(before.keys() | after.keys()):
            is_unknown = any(is_under(u, key) for u in unknown)
            if key not in changed and not is_unknown and before.get(key) == after.get(key):
                hidden += 1
                continue
            note = "# forces replacement" if key in forced else ""
            if key not in after:
                rows.append(("-", key, _fmt(before[key]), note))
            elif key not in before:
                rows.append(("+", key, _value(after, key, unknown), note))
            else:
                text = f"{_fmt(before[key])} -> {_value(after, key, unknown)}"
                rows.append(("~", key, text, note))
    width = max((len(k) for _, k, _, _ in rows), default=0)
    lines = [f"{m} {k.ljust(width)} = {t}{' ' + c if c else ''}" for m, k, t, c in rows]
    if hidden:
        lines.append(f"  ({hidden} unchanged attribute{'s' if hidden > 1 else ''} hidden)")
    return lines


def _value(attrs: dict[str, Any], key: str, unknown: Iterable[str]) -> str:
    """One attribute's planned value, with unknown parts shown as (known after apply)."""
    inner = [u for u in unknown if is_under(u, key)]
    if key in inner:
        return UNKNOWN_TEXT
    return _fmt(attrs.get(key), key, inner)


def _fmt(value: Any, path: str = "", unknown: list[str] | None = None) -> str:
    """A value as JSON-like text; nested unknown paths become (known after apply)."""
    if unknown and path in unknown:
        return UNKNOWN_TEXT
    if isinstance(value, list) and unknown:
        return _join("[", [_fmt(v, f"{path}[{i}]", unknown) for i, v in enumerate(value)], "]")
    if isinstance(value, dict) and unknown:
        return _join("{", [f"{json.dumps(k)}: {_fmt(v, f'{path}.{k}', unknown)}"
                           for k, v in value.items()], "}")
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    if len(text) <= _INLINE or not isinstance(value, list | dict):
        return text
    return json.dumps(value, ensure_ascii=False, sort_keys=True, indent=2).replace(
        "\n", "\n" + " " * 8)


def _join(open_: str, parts: list[str], close: str) -> str:
    return open_ + ", ".join(parts) + close
