"""The state model: versioned, lineage + serial, one record per resource."""

from __future__ import annotations

import uuid
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

STATE_FORMAT_VERSION = 1


class Status(StrEnum):
    """Lifecycle of a resource record."""

    CREATED = "created"  # exists and matches what was applied
    TAINTED = "tainted"  # apply started or failed part-way: must be replaced/resumed
    TRANSIENT_DONE = "transient-done"  # transient deleted after use; outputs kept (tombstone)


class HandedOff(BaseModel):
    """Where a record's objects went when v2s stopped managing them (`v2s handoff done`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    to: str  # the tool that manages them now, e.g. "terraform"
    at: str  # when (ISO 8601, UTC)


class ResourceState(BaseModel):
    """One resource as last recorded."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    address: str
    type: str
    provider: str
    attributes: dict[str, Any] = Field(default_factory=dict)  # never sensitive values
    dependencies: tuple[str, ...] = ()
    status: Status = Status.CREATED
    checkpoint: dict[str, Any] | None = None  # resume data of an interrupted apply
    migration: str = ""
    transient: bool = False
    prevent_destroy: bool = False
    handed_off: HandedOff | None = None  # set: v2s never plans, refreshes or deletes it again
    host: str = ""  # migration host holding its local data (executor dask); "": the coordinator


class State(BaseModel):
    """The whole state file."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    format_version: int = STATE_FORMAT_VERSION
    lineage: str = Field(default_factory=lambda: str(uuid.uuid4()))
    serial: int = 0
    v2s_version: str = ""
    resources: dict[str, ResourceState] = Field(default_factory=dict)
    outputs: dict[str, Any] = Field(default_factory=dict)

    def with_resource(self, rs: ResourceState) -> State:
        """A copy with one resource added or replaced (serial unchanged)."""
        return self.model_copy(update={"resources": {**self.resources, rs.address: rs}})

    def without(self, address: str) -> State:
        """A copy with one resource removed (serial unchanged)."""
        rest = {a: r for a, r in self.resources.items() if a != address}
        return self.model_copy(update={"resources": rest})
