"""Pydantic validation errors mapped back to YAML positions, with "did you mean"."""

from __future__ import annotations

import types
import typing
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from vmware2scw.config import yamlsrc
from vmware2scw.config.suggest import did_you_mean
from vmware2scw.config.variables import describe
from vmware2scw.errors import ConfigError

MAX_ERRORS = 10


def _unwrap(tp: Any) -> Any:
    """Strip Annotated/Optional wrappers down to one concrete type."""
    while True:
        origin = typing.get_origin(tp)
        if origin is typing.Annotated:
            tp = typing.get_args(tp)[0]
        elif origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(tp) if a is not type(None)]
            if len(args) != 1:
                return tp
            tp = args[0]
        else:
            return tp


def model_at(root: type[BaseModel], loc: tuple[str | int, ...]) -> type[BaseModel] | None:
    """The pydantic model class that validates the value at ``loc`` (None if not a model)."""
    tp: Any = root
    for step in loc:
        tp = _unwrap(tp)
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            field = tp.model_fields.get(str(step))
            if field is None:
                return None
            tp = field.annotation
            continue
        origin = typing.get_origin(tp)
        if origin in (dict, list, tuple):
            args = typing.get_args(tp)
            tp = args[-1] if args else Any
            continue
        return None
    tp = _unwrap(tp)
    return tp if isinstance(tp, type) and issubclass(tp, BaseModel) else None


def dotted(loc: tuple[str | int, ...]) -> str:
    """``('migrations', 'web', 'verify', 'tcp', 0)`` -> ``migrations.web.verify.tcp[0]``."""
    out = ""
    for step in loc:
        out += f"[{step}]" if isinstance(step, int) else (f".{step}" if out else str(step))
    return out


def _message(
    err: ErrorDetails, root: type[BaseModel], src: yamlsrc.Source, loc: tuple[str | int, ...]
) -> str:
    where = dotted(loc)
    kind = err["type"]
    if kind == "extra_forbidden":
        key = str(loc[-1])
        parent = model_at(root, loc[:-1])
        known = list(parent.model_fields) if parent else []
        allowed = f" (allowed: {', '.join(known)})" if known and len(known) <= 12 else ""
        hint = did_you_mean(key, known)
        return f"unknown key {key!r} in {dotted(loc[:-1]) or 'the top level'}" + (hint or allowed)
    if kind == "missing":
        return f"missing required key {str(loc[-1])!r} in {dotted(loc[:-1]) or 'the top level'}"
    msg = err["msg"]
    if kind in ("model_type", "dict_type", "model_attributes_type"):
        msg = "expected a mapping"
    if kind.endswith("_type") or kind.endswith("_parsing") or kind == "literal_error":
        msg = f"{msg}, got {_shown(err.get('input'))}"
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    return f"{where}: {msg}" if where else msg


def _shown(value: Any) -> str:
    """A short description of the offending value (short strings are quoted)."""
    if isinstance(value, str) and len(value) <= 40 and "\n" not in value:
        return repr(value)
    if isinstance(value, int | float):
        return repr(value)
    return describe(value)


def raise_for(
    exc: ValidationError,
    root: type[BaseModel],
    src: yamlsrc.Source,
    prefix: tuple[str | int, ...] = (),
) -> typing.NoReturn:
    """Raise a ConfigError listing each validation error as ``file:line:col: message``."""
    lines: list[tuple[tuple[int, int], str]] = []
    seen: set[tuple[str, str, str]] = set()  # merged defaults fail once, not per migration
    for err in exc.errors(include_url=False):
        loc = prefix + tuple(err["loc"])
        pos = (
            src.key_pos(loc)
            if err["type"] == "extra_forbidden"
            else (src.key_pos(loc[:-1]) if err["type"] == "missing" else src.pos(loc))
        )
        once = (str(pos), err["type"], err["msg"])
        if once in seen:
            continue
        seen.add(once)
        line = f"{pos}: {_message(err, root, src, loc)}"
        lines.append(((pos.line, pos.column), line))
    lines.sort(key=lambda item: item[0])
    shown = list(dict.fromkeys(text for _, text in lines))
    extra = len(shown) - MAX_ERRORS
    text = "\n".join(shown[:MAX_ERRORS])
    if extra > 0:
        text += f"\n... and {extra} more"
    raise ConfigError(text) from None
