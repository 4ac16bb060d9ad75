"""HCL text for the hand-off: values, resource blocks and Terraform >= 1.5 import blocks.

Output is laid out as `terraform fmt` would (two-space indent, `=` aligned within a run
of one-line arguments) so the files read as hand-written and diff cleanly.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from vmware2scw.provider import Expr, IacResource

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*\Z")
INDENT = "  "


def identifier(text: str) -> str:
    """A Terraform identifier from free text: ``app["app-03"]`` -> ``app_app_03``."""
    name = re.sub(r"[^A-Za-z0-9_]+", "_", text).strip("_").lower() or "migration"
    return f"m_{name}" if name[0].isdigit() else name


def string(text: str) -> str:
    """A quoted HCL string; ``${`` and ``%{`` are escaped so nothing is interpolated."""
    return json.dumps(text, ensure_ascii=False).replace("${", "$${").replace("%{", "%%{")


def value(v: Any, depth: int = 0) -> str:
    """One HCL value (lists and objects on several lines when they hold objects)."""
    if isinstance(v, Expr):
        return v.text
    if isinstance(v, bool):
        return "true" if v else "false"
    if v is None:
        return "null"
    if isinstance(v, int | float):
        return json.dumps(v)
    if isinstance(v, str):
        return string(v)
    if isinstance(v, list | tuple):
        items = [value(i, depth + 1) for i in v]
        one_line = "[" + ", ".join(items) + "]"
        if len(one_line) <= 80 and "\n" not in one_line:
            return one_line
        pad = INDENT * (depth + 1)
        return "[\n" + "".join(f"{pad}{i},\n" for i in items) + INDENT * depth + "]"
    if isinstance(v, Mapping):
        pad = INDENT * (depth + 1)
        rows = [(_key(k), value(x, depth + 1)) for k, x in v.items()]
        width = max((len(k) for k, _ in rows), default=0)
        body = "".join(f"{pad}{k.ljust(width)} = {x}\n" for k, x in rows)
        return "{\n" + body + INDENT * depth + "}"
    raise TypeError(f"no HCL form for {type(v).__name__}")


def _key(k: str) -> str:
    return k if _IDENT.match(k) else string(k)


def body(arguments: Mapping[str, Any], blocks: tuple[tuple[str, Mapping[str, Any]], ...] = (),
         depth: int = 1) -> str:
    """Arguments (None skipped, `=` aligned per run of one-liners), then nested blocks."""
    pad = INDENT * depth
    lines: list[str] = []
    run: list[tuple[str, str]] = []

    def flush() -> None:
        width = max((len(k) for k, _ in run), default=0)
        lines.extend(f"{pad}{k.ljust(width)} = {x}" for k, x in run)
        run.clear()

    for k, v in arguments.items():
        if v is None:
            continue
        text = value(v, depth)
        if "\n" in text:  # as `terraform fmt`: a multi-line value stands alone
            flush()
            lines.append(f"{pad}{k} = {text}")
        else:
            run.append((k, text))
    flush()
    for name, inner in blocks:
        if lines:
            lines.append("")
        lines.append(f"{pad}{name} {{")
        lines.append(body(inner, (), depth + 1).rstrip("\n"))
        lines.append(f"{pad}}}")
    return "\n".join(line for line in lines) + "\n"


def resource_block(r: IacResource) -> str:
    """``resource "type" "name" { ... }`` with its comment above."""
    head = "".join(f"# {line}\n" for line in r.comment.splitlines())
    return (f'{head}resource "{r.type}" "{r.name}" {{\n'
            f"{body(r.arguments, r.blocks)}}}\n")


def import_block(r: IacResource) -> str:
    """``import { to = type.name  id = "..." }`` (Terraform >= 1.5)."""
    return f"import {{\n{body({'to': Expr(text=f'{r.type}.{r.name}'), 'id': r.import_id})}}}\n"


def versions_block(required_providers: Mapping[str, Mapping[str, str]],
                   required_version: str) -> str:
    """The ``terraform { required_version, required_providers }`` block."""
    providers = {name: dict(spec) for name, spec in sorted(required_providers.items())}
    inner = body({"required_version": required_version}, (), 1)
    req = body(providers, (), 2).rstrip("\n")
    return f"terraform {{\n{inner}\n{INDENT}required_providers {{\n{req}\n{INDENT}}}\n}}\n"
