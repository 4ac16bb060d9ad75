"""The HCL writer: identifiers, escaping, and names that stay unique."""

from __future__ import annotations

import pytest

from tests.handoff.helpers import parse
from vmware2scw.errors import V2SError
from vmware2scw.handoff.hcl import body, identifier, string
from vmware2scw.handoff.select import unique_names
from vmware2scw.handoff.writer import render
from vmware2scw.provider import Expr, HandoffResponse, IacResource


def test_identifiers_from_migration_keys() -> None:
    assert identifier("web-01") == "web_01"
    assert identifier('app["app-03"]') == "app_app_03"
    assert identifier("01-db") == "m_01_db"  # an identifier cannot start with a digit
    assert identifier('x["é"]') == "x"


def test_keys_that_clean_up_alike_stay_distinct() -> None:
    names = unique_names(['a["b-c"]', 'a["b.c"]', "web-01"])
    assert names["web-01"] == "web_01"
    assert names['a["b-c"]'] != names['a["b.c"]']
    assert all(n.startswith("a_b_c_") for k, n in names.items() if k.startswith("a["))


def test_strings_are_never_interpolated() -> None:
    text = 'x = ' + string('${var.secret} %{if true} "q" \\')
    assert "$${var.secret}" in text and "%%{if" in text
    assert parse('resource "t" "n" {\n  ' + text + "\n}\n")


def test_expressions_lists_and_maps() -> None:
    out = body({"ref": Expr(text="a.b.id"), "n": 3, "on": True, "none": None,
                "list": [Expr(text="x.y.id"), "s"], "map": {"source": "s/s", "a-b": "c"}})
    assert "none" not in out
    data = parse('resource "t" "n" {\n' + out + "}\n")["resource"][0]["t"]["n"]
    assert data["ref"] == "a.b.id" and data["n"] == 3 and data["on"] is True
    assert data["list"] == ["x.y.id", "s"]
    assert data["map"] == {"source": "s/s", "a-b": "c"}


def test_two_objects_with_one_name_are_refused() -> None:
    def res(address: str) -> IacResource:
        return IacResource(type="t", name="x_ip1", import_id="z/1", address=address)

    resp = HandoffResponse(resources=(res("migration.x.s"), res("migration.x-ip1.s")))
    with pytest.raises(V2SError, match=r"both be named t\.x_ip1"):
        render([resp], {"migration.x.s": "x", "migration.x-ip1.s": "x-ip1"},
               {"x": "x", "x-ip1": "x_ip1"}, "lineage")
