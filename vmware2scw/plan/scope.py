"""Which resources a plan covers: order, -target (with dependencies), -replace, destroy set."""

from __future__ import annotations

from vmware2scw import graph
from vmware2scw.addresses import Address, try_parse
from vmware2scw.desired import Desired
from vmware2scw.diagnostics import Diagnostic, warning
from vmware2scw.plan.model import PlanOptions
from vmware2scw.state.model import State


def desired_graph(desired: Desired) -> graph.Graph:
    """The dependency graph of the desired resources (edges to unknown addresses left out)."""
    res = desired.resources
    return graph.from_edges(res, [(d, a) for a, r in res.items() for d in r.depends_on
                                  if d in res])


def topo_order(desired: Desired, g: graph.Graph | None = None) -> list[str]:
    """Desired addresses, every dependency before its dependents (ties by address)."""
    g = desired_graph(desired) if g is None else g
    graph.check_acyclic(g)
    return graph.topo_order(g)


class _Pattern:
    """A -target/-replace argument: a full or partial address (``migration.web-01``)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.parsed: Address | None = try_parse(text)

    def matches(self, address: str) -> bool:
        if address == self.text:
            return True
        other = try_parse(address) if self.parsed is not None else None
        return other is not None and self.parsed is not None and self.parsed.contains(other)


class Scope:
    """Answers "is this address part of the plan?" for one set of options."""

    def __init__(
        self, desired: Desired, state: State, options: PlanOptions, diags: list[Diagnostic]
    ) -> None:
        self.desired = desired
        self.state = state
        self.targets = [_Pattern(t) for t in options.targets]
        self.replace = [_Pattern(r) for r in options.replace]
        self.graph = desired_graph(desired)
        self._included: set[str] | None = None
        if self.targets:
            roots = [a for a in desired.resources if self._targeted(a)]
            self._included = graph.with_dependencies(self.graph, roots)
        everything = set(desired.resources) | set(state.resources)
        for pattern, flag, what in [(p, "-target", "target") for p in self.targets] + [
            (p, "-replace", "replace") for p in self.replace
        ]:
            pool = everything if flag == "-target" else set(state.resources)
            if not any(pattern.matches(a) for a in pool):
                diags.append(warning(
                    f"{flag} {pattern.text} matches no resource",
                    f"nothing to {what}; `v2s state list` shows the recorded addresses",
                ))

    def _targeted(self, address: str) -> bool:
        return any(p.matches(address) for p in self.targets)

    def includes(self, address: str) -> bool:
        """True when a desired resource is planned (no -target, or targeted or needed)."""
        return self._included is None or address in self._included

    def includes_orphan(self, address: str) -> bool:
        """True when a resource only in state may be deleted by this plan."""
        return not self.targets or self._targeted(address)

    def replace_requested(self, address: str) -> bool:
        """True when -replace names this resource (or a migration holding it)."""
        return any(p.matches(address) for p in self.replace)

    def dependents(self, address: str) -> set[str]:
        """Desired resources that depend directly on ``address``."""
        return set(graph.dependents(self.graph, address)) if address in self.graph else set()

    def destroy_set(self) -> set[str]:
        """Recorded resources to destroy: all, or the targeted ones and their dependents."""
        if not self.targets:
            return set(self.state.resources)
        recorded = self.state.resources
        g = graph.from_edges(recorded, [(d, a) for a, rs in recorded.items()
                                        for d in rs.dependencies if d in recorded])
        return graph.with_dependents(g, [a for a in recorded if self._targeted(a)])
