"""Every command-line flag that a hint, an error or the docs tell users to type exists.

(A hint once said `-refresh=false`, which the CLI rejects; the flag is `-no-refresh`.)
"""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

import typer

from vmware2scw.cli import app

ROOT = Path(__file__).resolve().parents[2]
FLAG = re.compile(r"(?:^|[\s`'\"(])(-{1,2}[a-z][a-z-]*[a-z])\b")
NOT_V2S = {
    "-image", "-disk",  # name suffixes (`web-image`), not flags
    "-snapshot",  # qemu-system-x86_64 (docs/troubleshooting.md, docs/providers/qemu.md)
    "--long",  # prose: "every option also has a `--long` form"
    "-h", "--help",  # click's own
}
LAB_DOCS = ("lab.md", "lab-scaleway-simulator.md")  # the lab's own programs and their flags


def _cli_flags() -> set[str]:
    flags: set[str] = set()
    stack: list[Any] = [typer.main.get_command(app)]  # typer vendors click
    while stack:
        cmd = stack.pop()
        for param in cmd.params:
            flags.update(o for o in (*param.opts, *param.secondary_opts) if o.startswith("-"))
        stack.extend(getattr(cmd, "commands", {}).values())
    return flags


def _named_in_code() -> set[tuple[str, str]]:
    found = set()
    for path in (ROOT / "vmware2scw").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                found.update((str(path.relative_to(ROOT)), f) for f in FLAG.findall(node.value))
    return found


def _named_in_docs() -> set[tuple[str, str]]:
    found = set()
    for path in [ROOT / "README.md", *(ROOT / "docs").rglob("*.md")]:
        if path.name in LAB_DOCS:
            continue
        for span in re.findall(r"`([^`\n]+)`", path.read_text()):
            if not span.startswith(("-", "v2s ", "vmware2scw ")):
                continue  # another program's command line (qemu-img, dpkg, ...)
            found.update((str(path.relative_to(ROOT)), f) for f in FLAG.findall(span))
    return found


def test_cli_accepts_no_refresh() -> None:
    assert {"-no-refresh", "--no-refresh"} <= _cli_flags()
    assert "-refresh" not in _cli_flags()


def test_every_flag_in_messages_and_docs_exists() -> None:
    known = _cli_flags() | NOT_V2S
    code, docs = _named_in_code(), _named_in_docs()
    assert ("vmware2scw/refresh.py", "-no-refresh") in code  # the scan sees the hint
    assert ("docs/planning.md", "-no-refresh") in docs
    unknown = sorted((where, flag) for where, flag in code | docs if flag not in known)
    assert unknown == [], f"flags the CLI does not accept: {unknown}"
