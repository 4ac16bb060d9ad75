"""Input variables: declarations, values and their precedence.

Precedence, lowest first: ``default`` < ``-var-file`` (in order) < ``V2S_VAR_<name>``
< ``-var name=value`` (in order). A variable without any value is an error; for a
sensitive one, only when a provider whose settings use it is configured.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, final

from vmware2scw.config import yamlsrc
from vmware2scw.config.model import Variable
from vmware2scw.config.suggest import did_you_mean
from vmware2scw.diagnostics import SourcePos
from vmware2scw.errors import ConfigError

ENV_PREFIX = "V2S_VAR_"
NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
CLI_FILE = "<command line>"
ENV_FILE = "<environment>"
_TYPE_WORDS = {
    "string": "a string",
    "number": "a number",
    "bool": "a bool (true/false)",
    "list": "a list",
    "map": "a map",
}


@final
class _Unset:
    """The type of :data:`UNSET`."""

    def __repr__(self) -> str:
        return "(no value)"


UNSET: Final = _Unset()  # a sensitive variable nothing gave a value (yet needed by nobody)


@dataclass(frozen=True)
class VarValue:
    """A variable's value, whether it is secret and where the value came from."""

    value: Any
    sensitive: bool
    origin: SourcePos


def type_error(value: Any, type_: str | None) -> str | None:
    """Why ``value`` does not fit ``type_`` (None when it fits)."""
    ok = {
        None: True,
        "string": isinstance(value, str),
        "number": isinstance(value, int | float) and not isinstance(value, bool),
        "bool": isinstance(value, bool),
        "list": isinstance(value, list),
        "map": isinstance(value, dict),
    }[type_]
    if ok:
        return None
    return f"expected {_TYPE_WORDS[type_ or 'string']}, got {describe(value)}"


def describe(value: Any) -> str:
    """A short description of a value's type for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a bool"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a map"
    return type(value).__name__


def parse_text(text: str, type_: str | None, origin: SourcePos, sensitive: bool = False) -> Any:
    """Convert a command-line or environment value to the declared type."""
    shown = "(sensitive value)" if sensitive else repr(text)
    if type_ in (None, "string"):
        return text
    if type_ == "bool":
        low = text.strip().lower()
        if low in ("true", "1", "yes"):
            return True
        if low in ("false", "0", "no"):
            return False
        raise yamlsrc.fail(origin, f"expected true or false, got {shown}")
    if type_ == "number":
        try:
            return int(text)
        except ValueError:
            try:
                return float(text)
            except ValueError:
                raise yamlsrc.fail(origin, f"expected a number, got {shown}") from None
    try:
        value = yamlsrc.parse(text, origin.file).data
    except ConfigError:
        raise yamlsrc.fail(
            origin,
            f"expected {_TYPE_WORDS[type_]} in YAML/JSON flow syntax, "
            f"e.g. {'[a, b]' if type_ == 'list' else '{k: v}'}",
        ) from None
    problem = type_error(value, type_)
    if problem:
        raise yamlsrc.fail(origin, problem)
    return value


def resolve_values(
    decls: Mapping[str, Variable],
    decl_src: yamlsrc.Source,
    *,
    var_args: Iterable[str] = (),
    var_files: Iterable[str | Path] = (),
    environ: Mapping[str, str],
) -> dict[str, VarValue]:
    """Compute every declared variable's value following the precedence rules."""
    values: dict[str, VarValue] = {}
    for name, decl in decls.items():
        if decl.has_default:
            origin = decl_src.pos(("variables", name, "default"))
            problem = type_error(decl.default, decl.type) if decl.default is not None else None
            if problem:
                raise yamlsrc.fail(origin, f"default of variable {name!r}: {problem}")
            values[name] = VarValue(decl.default, decl.sensitive, origin)

    for file in var_files:
        src = yamlsrc.load_file(file)
        if src.data is None:
            continue
        if not isinstance(src.data, dict):
            raise yamlsrc.fail(src.pos(()), "a -var-file must be a mapping of name: value")
        for name, value in src.data.items():
            origin = src.key_pos((name,))
            decl = _declared(decls, name, origin, "-var-file")
            problem = type_error(value, decl.type)
            if problem:
                raise yamlsrc.fail(src.pos((name,)), f"variable {name!r}: {problem}")
            values[name] = VarValue(value, decl.sensitive, src.pos((name,)))

    for key in sorted(environ):
        if not key.startswith(ENV_PREFIX) or key[len(ENV_PREFIX) :] not in decls:
            continue
        name = key[len(ENV_PREFIX) :]
        decl = decls[name]
        origin = SourcePos(file=ENV_FILE, line=1, column=1)
        try:
            value = parse_text(environ[key], decl.type, origin, decl.sensitive)
        except ConfigError as exc:
            raise ConfigError(f"{exc.message} (from {key})") from None
        values[name] = VarValue(value, decl.sensitive, origin)

    for index, arg in enumerate(var_args, start=1):
        origin = SourcePos(file=CLI_FILE, line=1, column=index)
        name, sep, text = arg.partition("=")
        name = name.strip()
        if not sep or not NAME_RE.match(name):
            shown = repr(name) if sep and name else "argument"  # never echo a possible value
            raise yamlsrc.fail(origin, f"-var {shown}: expected name=value")
        decl = _declared(decls, name, origin, "-var")
        try:
            value = parse_text(text, decl.type, origin, decl.sensitive)
        except ConfigError as exc:
            raise ConfigError(f"{exc.message} (from -var {name})") from None
        values[name] = VarValue(value, decl.sensitive, origin)

    for name, decl in decls.items():
        if name in values:
            continue
        pos = decl_src.key_pos(("variables", name))
        if decl.sensitive:  # demanded only by a command that configures a provider using it
            values[name] = VarValue(UNSET, True, pos)
            continue
        raise yamlsrc.fail(pos, no_value(name))
    return values


def no_value(name: str) -> str:
    """The message for a variable that nothing gave a value."""
    return (f"variable {name!r} has no value; give it a default, or set it with "
            f"-var {name}=..., a -var-file or {ENV_PREFIX}{name}")


def _declared(decls: Mapping[str, Variable], name: str, origin: SourcePos, how: str) -> Variable:
    decl = decls.get(name)
    if decl is None:
        raise yamlsrc.fail(
            origin,
            f"{how} sets {name!r} but no such variable is declared under `variables:`"
            + did_you_mean(name, decls),
        )
    return decl
