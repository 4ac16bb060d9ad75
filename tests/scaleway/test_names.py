"""Scaleway names (providers/v2s_scaleway/names.py): what is refused, what is derived."""

from __future__ import annotations

import pytest
from v2s_scaleway import names


@pytest.mark.parametrize(("name", "why"), [
    ("", "is empty"),
    ("web\x00", "control characters"),
    ("web_01", "'_'"),
    ("a" * 64, "64 characters long; the limit is 63"),
    ("-web", "must start and end with a letter or a digit"),
])
def test_bad_server_names_are_refused(name: str, why: str) -> None:
    problem = names.problem(name, limit=names.SERVER_MAX, what="target.name")
    assert problem is not None and why in problem


def test_good_names_pass() -> None:
    assert names.problem("web-01.prod 2", limit=names.SERVER_MAX, what="n") is None


@pytest.mark.parametrize(("vm", "derived"), [
    ("web-01", "web-01"),
    ("Müller-Übersicht", "Muller-Ubersicht"),  # accents folded
    ("app server (old)", "app-server-old"),
    ("db_01", "db-01"),
    ("сервер-01", None),  # another script: never guessed, target.name is asked for
    ("服务器", None),
])
def test_names_derived_from_vm_names(vm: str, derived: str | None) -> None:
    assert names.from_vm_name(vm) == derived
