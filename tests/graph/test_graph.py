"""The resource graph: edges, cycles, closures, order and renderings."""

from __future__ import annotations

import pytest

from tests.config.helpers import PROVIDERS, expand_text, vm
from vmware2scw import graph
from vmware2scw.desired import Desired, DesiredResource
from vmware2scw.diagnostics import SourcePos
from vmware2scw.errors import ConfigError
from vmware2scw.plan import render_graph


def res(address: str, *deps: str, priority: int = 0) -> DesiredResource:
    return DesiredResource(
        address=address,
        type="t",
        provider="test",
        depends_on=frozenset(deps),
        priority=priority,
        pos=SourcePos(file="f.yaml", line=3, column=3),
    )


def desired(*rs: DesiredResource) -> Desired:
    return Desired(resources={r.address: r for r in rs})


A, B, C, D = (f"migration.m.{t}" for t in ("a", "b", "c", "d"))


def test_edges_point_from_dependency_to_dependent() -> None:
    g = graph.build_graph(desired(res(A), res(B, A), res(C, A), res(D, B, C)))
    assert graph.edges(g) == [(A, B), (A, C), (B, D), (C, D)]
    assert graph.dependents(g, A) == [B, C]
    assert graph.with_dependencies(g, [B]) == {A, B}
    assert graph.with_dependents(g, [B]) == {B, D}
    assert graph.with_dependents(g, ["nope"]) == set()
    graph.check_acyclic(g)


def test_topo_order_is_stable_and_prefers_priority() -> None:
    g = graph.build_graph(desired(res(D), res(C, priority=-1), res(B, D), res(A, priority=5)))
    assert graph.topo_order(g) == [C, D, B, A]


def test_cycle_names_every_member_with_a_position() -> None:
    g = graph.build_graph(desired(res(A, C), res(B, A), res(C, B), res(D)))
    with pytest.raises(ConfigError) as info:
        graph.check_acyclic(g)
    text = str(info.value)
    assert text.startswith("f.yaml:3:3: dependency cycle between 3 resource(s); ")
    assert f"{A} -> {B} -> {C} -> {A}" in text


def test_self_reference_is_a_cycle() -> None:
    g = graph.build_graph(desired(res(A, A)))
    with pytest.raises(ConfigError, match="cycle between 1 resource"):
        graph.check_acyclic(g)


def test_missing_dependency_names_the_nearest() -> None:
    with pytest.raises(
        ConfigError,
        match=r"^f\.yaml:3:3: .* depends on migration\.m\.bb, which "
        r"does not exist; the nearest existing address is "
        r"migration\.m\.b",
    ):
        graph.build_graph(desired(res(A, "migration.m.bb"), res(B)))


CYCLE = (
    """v2s: 1
defaults:
  target: { type: PRO2-S, drop_unmapped_nics: true }
migrations:
  a:
    source: { vm: a }
    target: { name: "a-${migration.b.scw_server.id}" }
  b:
    source: { vm: b }
    target: { name: "b-${migration.a.scw_image.id}" }
"""
    + PROVIDERS
)


def test_cycle_through_config_references() -> None:
    d = expand_text(CYCLE, vm("a"), vm("b"))
    g = graph.build_graph(d)
    with pytest.raises(ConfigError) as info:
        graph.check_acyclic(g)
    text = str(info.value)
    assert text.startswith("v2s.yaml:5:3: dependency cycle")
    assert "migration.a.scw_image -> migration.b.scw_snapshot[0]" in text


def test_real_chain_is_acyclic_and_ordered() -> None:
    d = expand_text(
        CYCLE.replace('"a-${migration.b.scw_server.id}"', "x"), vm("a", disks=2), vm("b")
    )
    g = graph.build_graph(d)
    graph.check_acyclic(g)
    order = graph.topo_order(g)
    for a, b in graph.edges(g):
        assert order.index(a) < order.index(b)
    assert order.index("migration.a.scw_server") < order.index("migration.b.scw_snapshot[0]")


def test_dot_and_mermaid() -> None:
    g = graph.build_graph(desired(res(A), res('migration.app["x y"].b', A)))
    dot = render_graph.to_dot(g, {A: "create"})
    assert dot.startswith("digraph v2s {")
    assert f'"{A}" -> "migration.app[\\"x y\\"].b";' in dot
    assert "color=green" in dot and dot.rstrip().endswith("}")
    mer = render_graph.to_mermaid(g, {A: "create", 'migration.app["x y"].b': "replace"})
    lines = mer.splitlines()
    assert lines[0] == "flowchart LR"
    assert f'  n1["{A} (create)"]' in lines
    assert '  n0["migration.app[#quot;x y#quot;].b (replace)"]' in lines
    assert "  n1 --> n0" in lines
    assert "  class n1 create" in lines and "  class n0 replace" in lines


def test_from_edges_for_state_only_graphs() -> None:
    g = graph.from_edges([A, B, C], [(A, B)])
    assert graph.nodes(g) == [A, B, C]
    assert graph.topo_order(g) == [A, B, C]


def test_replace_orders_are_coloured_as_replace() -> None:
    g = graph.build_graph(desired(res(A), res(B, A), res(C)))
    actions = {A: "delete-then-create", B: "create-then-delete", C: "delete"}
    dot = render_graph.to_dot(g, actions)
    assert dot.count("color=purple") == 2 and dot.count("color=red") == 1
    mer = render_graph.to_mermaid(g, actions).splitlines()
    assert "  class n0,n1 replace" in mer and "  class n2 delete" in mer
