"""The resource graph (networkx kept behind these functions).

Edges point from a dependency to its dependent, so a topological order is a valid
creation order and its reverse a valid destroy order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import networkx as nx

from vmware2scw.config.suggest import nearest
from vmware2scw.desired import Desired
from vmware2scw.errors import ConfigError

Graph = nx.DiGraph


def build_graph(desired: Desired) -> nx.DiGraph:
    """One node per resource (attributes: type, provider, pos); edges from ``depends_on``."""
    g = nx.DiGraph()
    for address, res in desired.resources.items():
        g.add_node(
            address,
            type=res.type,
            provider=res.provider,
            pos=res.pos,
            priority=res.priority,
            transient=res.transient,
        )
    missing: list[str] = []
    for address, res in desired.resources.items():
        for dep in res.depends_on:
            if dep not in desired.resources:
                near = nearest(dep, desired.resources)
                where = f"{res.pos}: " if res.pos else ""
                missing.append(
                    f"{where}{address} depends on {dep}, which does not exist"
                    + (f"; the nearest existing address is {near}" if near else "")
                )
                continue
            g.add_edge(dep, address)
    if missing:
        raise ConfigError("\n".join(sorted(missing)[:10]))
    return g


def from_edges(nodes: Iterable[str], edges: Iterable[tuple[str, str]]) -> nx.DiGraph:
    """A graph from plain nodes and (dependency, dependent) edges (state-only planning)."""
    g = nx.DiGraph()
    g.add_nodes_from(nodes)
    g.add_edges_from(edges)
    return g


def check_acyclic(g: nx.DiGraph) -> None:
    """Raise ConfigError naming the members of a cycle (with the first member's position)."""
    try:
        cycle = nx.find_cycle(g, orientation="original")
    except nx.NetworkXNoCycle:
        return
    members = [str(edge[0]) for edge in cycle]
    start = min(range(len(members)), key=lambda i: members[i])
    members = members[start:] + members[:start]
    pos = g.nodes[members[0]].get("pos")
    where = f"{pos}: " if pos is not None else ""
    chain = " -> ".join([*members, members[0]])
    raise ConfigError(
        f"{where}dependency cycle between {len(members)} resource(s); remove one of the "
        f"references that link them:\n  {chain}"
    )


def cycles(g: nx.DiGraph) -> list[list[str]]:
    """Every group of nodes that wait on each other (none when the graph is acyclic)."""
    groups = [sorted(str(n) for n in c) for c in nx.strongly_connected_components(g)
              if len(c) > 1 or g.has_edge(next(iter(c)), next(iter(c)))]
    return sorted(groups)


def topo_order(g: nx.DiGraph) -> list[str]:
    """Dependencies first; ties broken by (priority, address) so the order is stable."""

    def key(node: str) -> tuple[int, str]:
        return int(g.nodes[node].get("priority", 0) or 0), node

    return [str(n) for n in nx.lexicographical_topological_sort(g, key=key)]


def generations(g: nx.DiGraph) -> dict[str, int]:
    """Each node's depth: 0 for nodes without dependencies, else 1 + the deepest one."""
    return {str(n): i for i, gen in enumerate(nx.topological_generations(g)) for n in gen}


def _closure(g: nx.DiGraph, addrs: Iterable[str], step: Callable[..., set[Any]]) -> set[str]:
    out: set[str] = set()
    for a in addrs:
        if a in g:
            out.add(a)
            out.update(step(g, a))
    return out


def with_dependencies(g: nx.DiGraph, addrs: Iterable[str]) -> set[str]:
    """The given nodes and everything they depend on (``-target`` semantics)."""
    return _closure(g, addrs, nx.ancestors)


def with_dependents(g: nx.DiGraph, addrs: Iterable[str]) -> set[str]:
    """The given nodes and everything that depends on them (destroy / failure skipping)."""
    return _closure(g, addrs, nx.descendants)


def dependents(g: nx.DiGraph, addr: str) -> list[str]:
    """Direct dependents of one node, sorted."""
    return sorted(str(n) for n in g.successors(addr))


def nodes(g: nx.DiGraph) -> list[str]:
    """All nodes, sorted."""
    return sorted(str(n) for n in g.nodes)


def edges(g: nx.DiGraph) -> list[tuple[str, str]]:
    """All (dependency, dependent) edges, sorted."""
    return sorted((str(a), str(b)) for a, b in g.edges)
