"""Templates: parsing, references, resolution with UNKNOWN, and ``$${`` escapes."""

from __future__ import annotations

import pytest

from vmware2scw.config.interpolate import (
    Expr,
    TemplateError,
    get_attribute,
    parse_template,
    references,
    resolve,
    substitute,
)
from vmware2scw.values import UNKNOWN, contains_unknown

A = "migration.web-01.scw_server"


def test_parse_template_splits_text_and_expressions() -> None:
    assert parse_template("a-${ var.x }-b") == ["a-", Expr("var.x", 2), "-b"]
    assert parse_template("$${x}") == ["$${x}"]


@pytest.mark.parametrize("text", ["${", "a ${var.x", "${}", "${ ${x} }"])
def test_malformed_templates(text: str) -> None:
    with pytest.raises(TemplateError):
        parse_template(text)


def test_references_ignore_escapes_and_variables() -> None:
    value = {
        "a": f"${{{A}.id}}",
        "b": ["x", f"$${{{A}.name}}", "${var.zone}"],
        "c": 'pre-${migration.app["app-1"].disk_export[2].path}',
    }
    assert references(value) == {(A, "id"), ('migration.app["app-1"].disk_export[2]', "path")}


def test_references_need_an_attribute() -> None:
    with pytest.raises(TemplateError, match="no attribute"):
        references("${migration.web-01.scw_server}")


def test_whole_expression_keeps_type_and_mixed_becomes_text() -> None:
    state = {A: {"id": "srv-1", "ips": ["10.0.0.1"], "n": 3, "on": True}}

    def lookup(addr: str, attr: str) -> object:
        return get_attribute(state[addr], attr)

    value = {
        "a": f"${{{A}.ips}}",
        "b": f"ip=${{{A}.ips[0]}} n=${{{A}.n}} on=${{{A}.on}}",
        "c": "lit $${x}",
    }
    out, unknown = resolve(value, lookup)
    assert out == {"a": ["10.0.0.1"], "b": "ip=10.0.0.1 n=3 on=true", "c": "lit ${x}"}
    assert unknown == []


def test_unknown_values_are_reported_by_path() -> None:
    value = {"image_id": f"${{{A}.id}}", "disks": ["/x", f"p-${{{A}.id}}"], "k": 1}
    out, unknown = resolve(value, lambda a, b: UNKNOWN)
    assert out["image_id"] is UNKNOWN and out["disks"][1] is UNKNOWN and out["disks"][0] == "/x"
    assert unknown == ["image_id", "disks[1]"]
    assert contains_unknown(out) and not contains_unknown({"k": [1]})


def test_list_inside_text_is_an_error() -> None:
    with pytest.raises(TemplateError, match="cannot be embedded"):
        resolve(f"x ${{{A}.ips}}", lambda a, b: ["1"])


def test_substitute_keep_escapes() -> None:
    assert substitute("a $${b} ${var.x}", lambda e: "X", keep_escapes=True) == "a $${b} X"
    assert substitute("a $${b} ${var.x}", lambda e: "X") == "a ${b} X"


def test_get_attribute_paths() -> None:
    attrs = {"a": {"b": [1, {"c": 2}]}}
    assert get_attribute(attrs, "a.b[1].c") == 2
    with pytest.raises(KeyError):
        get_attribute(attrs, "a.z")
    with pytest.raises(KeyError):
        get_attribute(attrs, "a.b[5]")
    assert get_attribute({"a": UNKNOWN}, "a.b") is UNKNOWN


def test_unknown_sentinel_is_a_singleton() -> None:
    import copy
    import pickle

    from vmware2scw.values import Unknown

    assert Unknown() is UNKNOWN and copy.deepcopy(UNKNOWN) is UNKNOWN
    assert pickle.loads(pickle.dumps(UNKNOWN)) is UNKNOWN
    assert not UNKNOWN and repr(UNKNOWN) == "(known after apply)"


def test_quoted_instance_keys_may_hold_braces_and_dollars() -> None:
    ref = 'migration.app["a}b ${c} \\"q\\""].scw_image'
    text = f"x-${{{ref}.id}}-y"
    assert references(text) == {(ref, "id")}
    out, _ = resolve(text, lambda a, b: f"<{a}|{b}>")
    assert out == f"x-<{ref}|id>-y"
    with pytest.raises(TemplateError, match="unterminated quoted key"):
        parse_template('${migration.app["abc].id}')


def test_literal_round_trips_through_resolve() -> None:
    from vmware2scw.config.interpolate import literal

    for text in ["plain", "a ${b} c", "$${x}", "${", "$$"]:
        assert resolve(literal(text), lambda a, b: None)[0] == text
