"""The plan: an immutable, serialisable value tied to a state lineage + serial (DESIGN §6).

A plan never holds sensitive values: attributes a resource type marks ``sensitive``
are dropped from ``before``/``after``/``config`` and listed in ``sensitive_paths``;
the walker takes them again from the config at apply time.

Invariants the walker relies on:
- ``changes`` holds one entry per resource the plan touches or keeps, sorted by address;
  ``depends_on`` are the edges the walker orders by (deletes run in reverse order).
- ``config`` holds the desired attributes with ``${address.attr}`` references unresolved;
  the walker resolves them against state just before ``apply``.
- In refresh-only mode ``changes`` is empty and applying the plan writes ``drift``
  (``after`` = refreshed attributes, ``None`` = gone) into state.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from vmware2scw.diagnostics import Diagnostic, Severity
from vmware2scw.plan.action import Action, Reason

PLAN_FORMAT_VERSION = 1

Attrs = dict[str, Any]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class PlanOptions(_Frozen):
    """How the plan was asked for (``v2s plan`` flags)."""

    targets: tuple[str, ...] = ()  # -target: these and their dependencies only
    replace: tuple[str, ...] = ()  # -replace: force these to be replaced
    refresh_only: bool = False  # -refresh-only: record drift, change nothing
    destroy: bool = False  # v2s destroy / plan -destroy
    refresh: bool = True  # -no-refresh skips provider reads


class ResourceChange(_Frozen):
    """One resource: what it is, what will happen and why (Terraform's ResourceChange)."""

    address: str
    type: str
    provider: str  # local provider name
    action: Action
    reason: Reason
    before: Attrs | None = None  # prior (refreshed) attributes; None when not in state
    after: Attrs | None = None  # planned attributes; None on delete; unknowns are None
    after_unknown: tuple[str, ...] = ()  # attribute paths known only after apply
    changed_paths: tuple[str, ...] = ()  # paths whose value differs before -> after
    replace_paths: tuple[str, ...] = ()  # changed paths that force replacement
    sensitive_paths: tuple[str, ...] = ()  # attributes withheld from this plan
    config: Attrs | None = None  # desired attributes, references unresolved
    depends_on: tuple[str, ...] = ()
    transient: bool = False
    migration: str = ""
    priority: int = 0
    prevent_destroy: bool = False
    notes: tuple[str, ...] = ()  # extra reason text, e.g. "needed by migration.x.image"

    @property
    def is_change(self) -> bool:
        """True unless this is a no-op."""
        return self.action is not Action.NOOP


class PlanSummary(_Frozen):
    """Counts for the ``Plan: N to create, ...`` line."""

    create: int = 0
    update: int = 0
    replace: int = 0
    delete: int = 0
    noop: int = 0

    @property
    def total(self) -> int:
        """Number of resources that change."""
        return self.create + self.update + self.replace + self.delete


class Plan(_Frozen):
    """Everything ``v2s apply PLANFILE`` needs, and what makes it stale."""

    format_version: int = PLAN_FORMAT_VERSION
    v2s_version: str = ""
    lineage: str
    serial: int
    config_digest: str = ""
    source_digests: dict[str, str] = Field(default_factory=dict)
    options: PlanOptions = PlanOptions()
    changes: tuple[ResourceChange, ...] = ()
    drift: tuple[ResourceChange, ...] = ()  # refreshed vs recorded (shown; applied if refresh-only)
    diagnostics: tuple[Diagnostic, ...] = ()

    @property
    def destroy(self) -> bool:
        """True for a destroy plan."""
        return self.options.destroy

    @property
    def refresh_only(self) -> bool:
        """True for a refresh-only plan."""
        return self.options.refresh_only

    @property
    def errored(self) -> bool:
        """True when a diagnostic is an error: such a plan cannot be applied."""
        return any(d.severity is Severity.ERROR for d in self.diagnostics)

    @property
    def has_changes(self) -> bool:
        """True when applying would change anything (resources, or state for refresh-only)."""
        if self.refresh_only:
            return bool(self.drift)
        return any(c.is_change for c in self.changes)

    def change(self, address: str) -> ResourceChange | None:
        """The change for one address, if the plan has one."""
        for c in self.changes:
            if c.address == address:
                return c
        return None

    def by_address(self) -> dict[str, ResourceChange]:
        """All changes keyed by address."""
        return {c.address: c for c in self.changes}

    def summary(self) -> PlanSummary:
        """Counts per action kind."""
        counts = {"create": 0, "update": 0, "replace": 0, "delete": 0, "noop": 0}
        for c in self.changes:
            if c.action.is_replace:
                counts["replace"] += 1
            elif c.action is Action.NOOP:
                counts["noop"] += 1
            else:
                counts[c.action.value] += 1
        return PlanSummary(**counts)

    def to_json(self, *, indent: int | None = 2) -> str:
        """The plan file's text: keys sorted so equal plans give equal bytes."""
        data = self.model_dump(mode="json")
        return json.dumps(data, indent=indent, sort_keys=True, ensure_ascii=False)

    @classmethod
    def from_json(cls, data: str | bytes) -> Plan:
        """Parse a plan file's text (pydantic ValidationError on a bad file)."""
        return cls.model_validate_json(data)
