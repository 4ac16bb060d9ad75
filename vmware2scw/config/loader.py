"""``load()``: YAML -> variables -> ``${var.*}``/``${env.*}`` -> defaults -> ``Config``.

Resource references (``${migration....}``) stay in the values as templates; escapes
(``$${``) stay escaped in template-bearing places and are unescaped everywhere else.
"""

from __future__ import annotations

import copy
import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError

from vmware2scw.addresses import NAME_RE as MIGRATION_NAME_RE
from vmware2scw.config import yamlsrc
from vmware2scw.config.interpolate import (
    ESCAPE,
    KEEP,
    OPEN,
    Expr,
    TemplateError,
    has_template,
    split_reference,
    substitute,
)
from vmware2scw.config.model import BACKEND_SECRETS, ENV_REFERENCE, Config, Variable
from vmware2scw.config.suggest import did_you_mean
from vmware2scw.config.validation import dotted, raise_for
from vmware2scw.config.variables import NAME_RE as VAR_NAME_RE
from vmware2scw.config.variables import UNSET, VarValue, no_value, resolve_values
from vmware2scw.diagnostics import SourcePos
from vmware2scw.errors import ConfigError

YPath = yamlsrc.YPath
TOP_KEYS = tuple(Config.model_fields)
_VARS_ADAPTER: TypeAdapter[dict[str, Variable]] = TypeAdapter(dict[str, Variable])


@dataclass(frozen=True)
class LoadedConfig:
    """A validated config plus everything needed to point back into the file."""

    config: Config
    source: yamlsrc.Source
    base_dir: Path
    variables: Mapping[str, VarValue] = field(default_factory=dict)
    sensitive_paths: frozenset[YPath] = frozenset()  # values built from secrets
    env_paths: frozenset[YPath] = frozenset()  # values read from ${env.*}
    template_paths: frozenset[YPath] = frozenset()  # values holding resource references
    unset: Mapping[YPath, str] = field(default_factory=dict)  # path -> why it has no value

    def require(self, prefix: YPath) -> None:
        """Refuse (ConfigError) when a value under ``prefix`` needs a secret nothing gave."""
        for path in sorted(self.unset, key=str):
            if path[: len(prefix)] == prefix:
                raise ConfigError(self.unset[path])

    @property
    def file(self) -> str:
        """The config file name as given."""
        return self.source.file

    def pos(self, path: YPath) -> SourcePos:
        """Position of the value at ``path`` (merged defaults point at ``defaults``)."""
        return self.source.pos(path)

    def key_pos(self, path: YPath) -> SourcePos:
        """Position of the key naming ``path`` (e.g. a migration's name)."""
        return self.source.key_pos(path)


def _template_allowed(path: YPath) -> bool:
    """Where resource references may appear (resolved at plan/apply time)."""
    if len(path) >= 3 and path[0] == "outputs" and path[2] == "value":
        return True
    if len(path) >= 4 and path[0] == "migrations" and path[2] == "target":
        return path[3] not in ("zone", "volume_type")
    return (
        len(path) >= 3
        and path[0] == "defaults"
        and path[1] == "target"
        and path[2] not in ("zone", "volume_type")
    )


def map_strings(value: Any, fn: Callable[[str], str]) -> Any:
    """Apply ``fn`` to every string inside nested lists and dicts."""
    if isinstance(value, str):
        return fn(value)
    if isinstance(value, list):
        return [map_strings(v, fn) for v in value]
    if isinstance(value, dict):
        return {k: map_strings(v, fn) for k, v in value.items()}
    return value


def _escape(value: Any) -> Any:
    """Protect ``${`` inside inserted values so they are never evaluated later."""
    return map_strings(value, lambda s: s.replace(OPEN, ESCAPE))


def unescape(value: Any) -> Any:
    """Turn ``$${`` back into ``${`` (for values that are never resolved later)."""
    return map_strings(value, lambda s: s.replace(ESCAPE, OPEN))


class _Interpolator:
    """Resolves ``${var.*}`` and ``${env.*}`` across the raw tree; keeps references."""

    def __init__(
        self, src: yamlsrc.Source, values: Mapping[str, VarValue], environ: Mapping[str, str]
    ):
        self.src = src
        self.values = values
        self.environ = environ
        self.sensitive: set[YPath] = set()
        self.env: set[YPath] = set()
        self.templates: set[YPath] = set()
        self.unset: dict[YPath, str] = {}  # value paths using a sensitive variable with no value

    def walk(self, value: Any, path: YPath) -> Any:
        if isinstance(value, str):
            return self.string(value, path) if has_template(value) else value
        if isinstance(value, dict):
            return {k: self.walk(v, (*path, k)) for k, v in value.items()}
        if isinstance(value, list):
            return [self.walk(v, (*path, i)) for i, v in enumerate(value)]
        return value

    def string(self, text: str, path: YPath) -> Any:
        def resolver(expr: Expr) -> Any:
            return self.expr(expr, path)

        try:
            out = substitute(text, resolver, keep_escapes=True)
        except TemplateError as exc:
            raise yamlsrc.fail(self.src.text_pos(path, exc.offset), exc.message) from None
        return out

    def expr(self, expr: Expr, path: YPath) -> Any:
        where = self.src.text_pos(path, expr.offset)
        head, _, name = expr.text.partition(".")
        if head == "var":
            found = self.values.get(name)
            if found is None:
                raise yamlsrc.fail(
                    where,
                    f"reference to undeclared variable 'var.{name}'"
                    + did_you_mean(name, self.values),
                )
            if found.sensitive:
                self.sensitive.add(path)
            if found.value is UNSET:
                self.unset.setdefault(path, f"{found.origin}: {no_value(name)}")
                return ""
            return _escape(found.value)
        if head == "env":
            if not name or name not in self.environ:
                raise yamlsrc.fail(
                    where,
                    f"environment variable {name!r} is not set (referenced as '${{env.{name}}}')",
                )
            self.env.add(path)
            return _escape(self.environ[name])
        if head == "migration":
            if not _template_allowed(path):
                raise yamlsrc.fail(
                    where,
                    f"resource references are not allowed in "
                    f"{dotted(path)}; use them in migration targets or outputs",
                )
            try:
                split_reference(expr.text)
            except TemplateError as exc:
                raise yamlsrc.fail(where, exc.message) from None
            self.templates.add(path)
            return KEEP
        raise yamlsrc.fail(
            where,
            f"unknown reference '${{{expr.text}}}'; expected var.<name>, "
            "env.<NAME> or migration.<name>.<type>.<attribute> "
            "(write '$${' for a literal '${')",
        )


def deep_merge(base: Any, over: Any) -> Any:
    """Maps merge recursively (``over`` wins); anything else is replaced by ``over``."""
    if isinstance(base, dict) and isinstance(over, dict):
        out = dict(base)
        for k, v in over.items():
            out[k] = deep_merge(base[k], v) if k in base else v
        return out
    return over


def _copy_positions(src: yamlsrc.Source, frm: YPath, to: YPath, value: Any) -> None:
    """Give merged-in defaults positions under the migration (kept where it has its own)."""
    for table in (src.positions, src.key_positions):
        if to not in table and frm in table:
            table[to] = table[frm]
    if to not in src.text_columns and frm in src.text_columns:
        src.text_columns[to] = src.text_columns[frm]
    if isinstance(value, dict):
        for k, v in value.items():
            _copy_positions(src, (*frm, k), (*to, k), v)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _copy_positions(src, (*frm, i), (*to, i), v)


def _merge_defaults(data: dict[str, Any], src: yamlsrc.Source, sets: list[set[YPath]]) -> None:
    defaults = data.get("defaults")
    migrations = data.get("migrations")
    if not isinstance(defaults, dict) or not isinstance(migrations, dict) or not defaults:
        return
    for name, mig in list(migrations.items()):
        if not isinstance(mig, dict):
            continue
        migrations[name] = deep_merge(copy.deepcopy(defaults), mig)
        _copy_positions(src, ("defaults",), ("migrations", name), defaults)
        for marks in sets:
            for p in [p for p in marks if p[:1] == ("defaults",)]:
                marks.add(("migrations", name, *p[1:]))


_BLOCK_EXAMPLES = {
    "variables": "zone: { default: fr-par-1 }",
    "providers": "vcenter: { source: <plug-in>, ... }",
    "migrations": "web-01: { source: { vm: web-01 } }",
    "outputs": "ip: { value: ... }",
    "defaults": "target: { type: PRO2-S }",
    "settings": "parallelism: 10",
    "backend": "s3: { bucket: ..., key: ... }",
}


def _check_blocks(data: dict[str, Any], src: yamlsrc.Source) -> None:
    """Every top-level block except ``v2s`` is a mapping (empty counts as one)."""
    for key, example in _BLOCK_EXAMPLES.items():
        value = data.get(key)
        if value is None or isinstance(value, dict):
            continue
        got = "a list" if isinstance(value, list) else repr(value)
        keyed = "; write each entry as `name: ...`, not `- name: ...`" if isinstance(
            value, list) else ""
        raise yamlsrc.fail(
            src.pos((key,)),
            f"{key}: expected a mapping such as `{key}: {{ {example} }}`, got {got}{keyed}",
        )


def _check_names(data: dict[str, Any], src: yamlsrc.Source) -> None:
    for name in data.get("migrations") or {}:
        if not MIGRATION_NAME_RE.fullmatch(name):
            raise yamlsrc.fail(
                src.key_pos(("migrations", name)),
                f"migration name {name!r} may use only letters, digits, '_' "
                "and '-' (and not start with '-')",
            )
    for name in data.get("variables") or {}:
        if not VAR_NAME_RE.match(name):
            raise yamlsrc.fail(
                src.key_pos(("variables", name)),
                f"variable name {name!r} may use only letters, digits and '_'",
            )
    for name, block in (data.get("providers") or {}).items():
        if not MIGRATION_NAME_RE.fullmatch(name):
            raise yamlsrc.fail(
                src.key_pos(("providers", name)),
                f"provider name {name!r} may use only letters, digits, '_', '-'",
            )
        if block is not None and not isinstance(block, dict):
            raise yamlsrc.fail(
                src.pos(("providers", name)), f"provider {name!r} must be a mapping of settings"
            )
        if (
            isinstance(block, dict)
            and "source" in block
            and not (isinstance(block["source"], str) and block["source"])
        ):
            raise yamlsrc.fail(
                src.pos(("providers", name, "source")),
                "provider `source` must be a plug-in name such as 'test'",
            )
    _check_backend_secrets(data, src)


def _check_backend_secrets(data: dict[str, Any], src: yamlsrc.Source) -> None:
    """S3 state credentials come from the environment, never from the file itself."""
    backend = data.get("backend")
    s3 = backend.get("s3") if isinstance(backend, dict) else None
    if not isinstance(s3, dict):
        return
    for key in BACKEND_SECRETS:
        value = s3.get(key)
        if value is not None and not (isinstance(value, str) and _ENV_RE.match(value)):
            raise yamlsrc.fail(
                src.pos(("backend", "s3", key)),
                f"backend.s3.{key} must be one ${{env.NAME}} reference (e.g. "
                f"'${{env.SCW_{key.upper()}}}'): credentials are never written in the config "
                "file; or leave it out to use boto3's chain / SCW_ACCESS_KEY and SCW_SECRET_KEY",
            )


_ENV_RE = re.compile(ENV_REFERENCE)
_SECTIONS = ("source", "target", "cutover", "convert", "verify")


def _fill_empty(data: dict[str, Any]) -> dict[str, Any]:
    """A provider block or ``target:`` with nothing after it means an empty mapping."""
    out = {k: ({} if v is None and k not in ("v2s", "backend") else v) for k, v in data.items()}
    for key in ("providers", "variables", "migrations", "outputs"):
        block = out.get(key)
        if isinstance(block, dict) and key != "outputs":
            out[key] = {k: ({} if v is None else v) for k, v in block.items()}
    blocks = [out.get("defaults")]
    if isinstance(out.get("migrations"), dict):
        blocks.extend(out["migrations"].values())
    for block in blocks:
        if isinstance(block, dict):
            for section in _SECTIONS:
                if section in block and block[section] is None:
                    block[section] = {}
    return out


def load(
    path: str | Path,
    *,
    var_args: Iterable[str] = (),
    var_files: Iterable[str | Path] = (),
    environ: Mapping[str, str] | None = None,
) -> LoadedConfig:
    """Load and validate a desired-state file; raise ConfigError (``file:line:col: ...``)."""
    env = os.environ if environ is None else environ
    src = yamlsrc.load_file(path)
    return load_source(src, Path(path).parent, var_args=var_args, var_files=var_files, environ=env)


def load_source(
    src: yamlsrc.Source,
    base_dir: Path,
    *,
    var_args: Iterable[str] = (),
    var_files: Iterable[str | Path] = (),
    environ: Mapping[str, str],
) -> LoadedConfig:
    """Validate an already parsed source (tests use this with in-memory YAML)."""
    data = src.data
    if data is None:
        raise yamlsrc.fail(src.pos(()), "the file is empty; expected at least `v2s: 1`")
    if not isinstance(data, dict):
        raise yamlsrc.fail(
            src.pos(()),
            "expected a mapping at the top level (v2s:, variables:, providers:, migrations:, ...)",
        )
    for key in data:
        if key not in TOP_KEYS:
            raise yamlsrc.fail(
                src.key_pos((key,)),
                f"unknown top-level key {key!r}"
                + (did_you_mean(key, TOP_KEYS) or f" (allowed: {', '.join(TOP_KEYS)})"),
            )
    _check_blocks(data, src)
    data = _fill_empty(data)
    _check_names(data, src)
    raw_vars = data.get("variables", {})
    try:
        decls = _VARS_ADAPTER.validate_python(raw_vars)
    except ValidationError as exc:
        raise_for(exc, Config, src, ("variables",))
    values = resolve_values(decls, src, var_args=var_args, var_files=var_files, environ=environ)

    interp = _Interpolator(src, values, environ)
    resolved = {k: (v if k == "variables" else interp.walk(v, (k,))) for k, v in data.items()}
    _merge_defaults(resolved, src, [interp.sensitive, interp.env, interp.templates])
    for p in sorted(interp.sensitive, key=str):
        if p[0] != "providers":
            raise yamlsrc.fail(
                src.pos(p),
                f"{dotted(p)} uses a sensitive variable; sensitive "
                "values may only be used in provider settings",
            )
    for key in ("providers", "backend", "settings"):
        if key in resolved:
            resolved[key] = unescape(resolved[key])
    migrations = resolved.get("migrations")
    if isinstance(migrations, dict):
        for mig in migrations.values():
            if isinstance(mig, dict) and isinstance(mig.get("source"), dict):
                mig["source"] = unescape(mig["source"])
    try:
        config = Config.model_validate(resolved)
    except ValidationError as exc:
        raise_for(exc, Config, src)
    return LoadedConfig(
        config=config,
        source=src,
        base_dir=base_dir,
        variables=values,
        sensitive_paths=frozenset(interp.sensitive),
        env_paths=frozenset(interp.env),
        template_paths=frozenset(interp.templates),
        unset=interp.unset,
    )


def loads(text: str, file: str = "v2s.yaml", **kwargs: Any) -> LoadedConfig:
    """Load from a string (tests, ``v2s validate -``)."""
    kwargs.setdefault("environ", {})
    return load_source(yamlsrc.parse(text, file), Path(), **kwargs)


__all__ = ["ConfigError", "LoadedConfig", "load", "load_source", "loads", "unescape"]
