"""One migration instance -> its resources, composed step by step through role providers.

The blueprint (transport + mode) comes from the target provider; each step asks the
provider bound to the step's role for its resources, passing on what the previous
step handed off (DESIGN §12). The engine knows roles and steps, never resource types.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from vmware2scw.addresses import Address
from vmware2scw.config.model import MigrationConfig
from vmware2scw.provider import (
    Blueprint,
    ComposeRequest,
    ConfigProblem,
    Handoff,
    Provider,
    ResourceSpec,
    VMFacts,
)

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def path_label(name: str) -> str:
    """A name made safe for object keys and file names."""
    cleaned = _UNSAFE.sub("-", name).strip("-.") or "vm"
    return cleaned[:63]


@dataclass(frozen=True)
class Instance:
    """One migration instance: a name, an optional wildcard key and its VM."""

    name: str
    key: str | None
    vm: VMFacts
    mig: MigrationConfig

    @property
    def label(self) -> str:
        """Path-safe instance name for object keys: ``web-01`` or ``app/app-03``."""
        return self.name if self.key is None else f"{self.name}/{path_label(self.key)}"

    @cached_property
    def instance(self) -> str:
        """``web-01`` or ``app["app-03"]`` (the DesiredResource.migration value)."""
        return Address(self.name, self.key).instance

    @cached_property
    def module(self) -> str:
        """``migration.web-01``: the prefix of every address of this instance."""
        return "migration." + self.instance


@dataclass(frozen=True)
class Bound:
    """A role's provider for one migration: local name, plug-in, settings (no secrets)."""

    local: str
    plugin: Provider
    settings: dict[str, Any]


def choose_blueprint(target: Provider, transport: str | None, mode: str | None
                     ) -> Blueprint | str:
    """The target's blueprint for (transport, mode), or why there is none."""
    offered = target.blueprints()
    for bp in offered:
        if transport in (None, bp.transport) and mode in (None, bp.mode):
            return bp
    names = ", ".join(f"{bp.transport}/{bp.mode}" for bp in offered) or "none"
    return (f"the target provider offers no blueprint for transport "
            f"{transport or '(any)'} and mode {mode or '(any)'}; it offers: {names}")


def compose(
    inst: Instance, blueprint: Blueprint, roles: dict[str, Bound], lineage: str,
    migration: dict[str, Any],
) -> tuple[list[tuple[ResourceSpec, str]], list[ConfigProblem]]:
    """Every resource of one instance with its provider's local name, or the problems."""
    handoff = Handoff()
    out: list[tuple[ResourceSpec, str]] = []
    problems: list[ConfigProblem] = []
    for step in blueprint.steps:
        bound = roles[step.role]
        resp = bound.plugin.compose(ComposeRequest.model_construct(
            role=step.role, phase=step.phase, blueprint=blueprint, name=inst.name,
            module=inst.module,
            label=inst.label, lineage=lineage, vm=inst.vm, migration=migration,
            settings=bound.settings, upstream=handoff))
        problems.extend(resp.problems)
        if resp.problems:
            break
        out.extend((spec, bound.local) for spec in resp.resources)
        handoff = resp.handoff
    return out, problems
