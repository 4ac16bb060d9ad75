"""Which resources a plan covers: order, -target (with dependencies), -replace, destroy set."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from graphlib import CycleError, TopologicalSorter

from vmware2scw.addresses import Address, try_parse
from vmware2scw.desired import Desired
from vmware2scw.diagnostics import Diagnostic, warning
from vmware2scw.errors import ConfigError
from vmware2scw.plan.model import PlanOptions
from vmware2scw.state.model import State


def topo_order(desired: Desired) -> list[str]:
    """Desired addresses, every dependency before its dependents (ties by address)."""
    sorter: TopologicalSorter[str] = TopologicalSorter()
    for address in sorted(desired.resources):
        deps = desired.resources[address].depends_on
        sorter.add(address, *sorted(d for d in deps if d in desired.resources))
    try:
        return list(sorter.static_order())
    except CycleError as exc:
        cycle = " -> ".join(exc.args[1]) if len(exc.args) > 1 else "?"
        raise ConfigError(f"dependency cycle between resources: {cycle}",
                          hint="remove one of the references that form the cycle") from None


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
        self._dependents: dict[str, set[str]] = {}
        for address, dr in desired.resources.items():
            for dep in dr.depends_on:
                self._dependents.setdefault(dep, set()).add(address)
        self._included: set[str] | None = None
        if self.targets:
            roots = [a for a in desired.resources if self._targeted(a)]
            self._included = _closure(roots, lambda a: desired.resources[a].depends_on
                                      if a in desired.resources else ())
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
        return self._dependents.get(address, set())

    def destroy_set(self) -> set[str]:
        """Recorded resources to destroy: all, or the targeted ones and their dependents."""
        if not self.targets:
            return set(self.state.resources)
        reverse: dict[str, set[str]] = {}
        for address, rs in self.state.resources.items():
            for dep in rs.dependencies:
                reverse.setdefault(dep, set()).add(address)
        roots = [a for a in self.state.resources if self._targeted(a)]
        found = _closure(roots, lambda a: reverse.get(a, ()))
        return found & set(self.state.resources)


def _closure(roots: Iterable[str], follow: Callable[[str], Iterable[str]]) -> set[str]:
    """Everything reachable from ``roots`` through ``follow(address)``."""
    seen: set[str] = set()
    stack = list(roots)
    while stack:
        address = stack.pop()
        if address in seen:
            continue
        seen.add(address)
        stack.extend(follow(address))
    return seen
