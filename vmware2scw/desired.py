"""Desired resources: what the expanded config says should exist (input of planning)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from vmware2scw.diagnostics import SourcePos


class DesiredResource(BaseModel):
    """One resource instance after expansion; attribute values may hold ``${...}`` strings."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    address: str  # e.g. migration.web-01.disk_export[0]
    type: str  # resource type name, e.g. disk_export
    provider: str  # local provider name from `providers:`, e.g. vmware
    attributes: dict[str, Any] = Field(default_factory=dict)
    depends_on: frozenset[str] = frozenset()  # chain edges + edges from references
    transient: bool = False
    migration: str = ""  # owning migration instance, e.g. app["app-server-03"]
    priority: int = 0  # lower starts first (wave plans)
    prevent_destroy: bool = False
    pos: SourcePos | None = None  # where the migration block was written


class ProviderBlock(BaseModel):
    """A configured provider after interpolation (settings may hold secrets)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    local_name: str  # key under `providers:`
    source: str  # entry-point name of the plug-in
    settings: dict[str, Any] = Field(default_factory=dict)
    sensitive_paths: frozenset[str] = frozenset()  # settings keys never to persist or print


class Desired(BaseModel):
    """Everything planning needs from the config, free of YAML details."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    resources: dict[str, DesiredResource] = Field(default_factory=dict)
    providers: dict[str, ProviderBlock] = Field(default_factory=dict)
    outputs: dict[str, Any] = Field(default_factory=dict)
    limits: dict[str, int] = Field(default_factory=dict)  # per-kind concurrency limits
    config_digest: str = ""  # sha256 of the normalised config (secrets excluded)
    source_digests: dict[str, str] = Field(default_factory=dict)  # VM name -> changeVersion
