"""The resource graph as Graphviz DOT or Mermaid (`v2s graph`), optionally coloured by a plan."""

from __future__ import annotations

from collections.abc import Mapping

from vmware2scw.graph import Graph, edges, nodes


def action_category(action: str) -> str:
    """create | update | delete | replace | no-op (both replace orders are "replace")."""
    return "replace" if action in ("delete-then-create", "create-then-delete") else action


def _dot_quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def to_dot(g: Graph, actions: Mapping[str, str] | None = None) -> str:
    """Graphviz DOT; with ``actions`` (address -> action) nodes are labelled and coloured."""
    colours = {
        "create": "green",
        "delete": "red",
        "update": "orange",
        "replace": "purple",
        "no-op": "grey",
    }
    lines = ["digraph v2s {", "  rankdir=LR;", "  node [shape=box, fontname=monospace];"]
    for node in nodes(g):
        attrs = []
        action = (actions or {}).get(node)
        if action:
            label = f"{node}\\n({action})".replace('"', '\\"')
            attrs.append(f'label="{label}"')
            colour = colours.get(action_category(action))
            if colour:
                attrs.append(f"color={colour}")
        if g.nodes[node].get("transient"):
            attrs.append("style=dashed")
        suffix = f" [{', '.join(attrs)}]" if attrs else ""
        lines.append(f"  {_dot_quote(node)}{suffix};")
    lines.extend(f"  {_dot_quote(a)} -> {_dot_quote(b)};" for a, b in edges(g))
    lines.append("}")
    return "\n".join(lines) + "\n"


def to_mermaid(g: Graph, actions: Mapping[str, str] | None = None) -> str:
    """Mermaid ``flowchart LR``; node ids are n0, n1, ... and labels are the addresses."""
    ids = {node: f"n{i}" for i, node in enumerate(nodes(g))}
    lines = ["flowchart LR"]
    for node, nid in ids.items():
        action = (actions or {}).get(node)
        label = node if not action else f"{node} ({action})"
        label = label.replace('"', "#quot;")
        lines.append(f'  {nid}["{label}"]')
    lines.extend(f"  {ids[a]} --> {ids[b]}" for a, b in edges(g))
    classes = {
        "create": "fill:#d4f7d4",
        "delete": "fill:#f7d4d4",
        "update": "fill:#f7ecd4",
        "replace": "fill:#e8d4f7",
    }
    if actions:
        for name, style in classes.items():
            members = sorted(
                ids[n] for n, a in actions.items() if n in ids and action_category(a) == name
            )
            if members:
                lines.append(f"  classDef {name} {style}")
                lines.append(f"  class {','.join(members)} {name}")
    return "\n".join(lines) + "\n"
