"""Provider settings and credentials: config block, then ``SCW_*`` env, then the config file.

Secrets are kept as ``SecretStr`` so they never show in reprs, logs or exceptions.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from vmware2scw.errors import ConfigError

ChecksumMode = Literal["when_supported", "when_required"]

_ENV = {
    "access_key": "SCW_ACCESS_KEY",
    "secret_key": "SCW_SECRET_KEY",
    "api_url": "SCW_API_URL",
    "project_id": "SCW_DEFAULT_PROJECT_ID",
    "organization_id": "SCW_DEFAULT_ORGANIZATION_ID",
    "region": "SCW_DEFAULT_REGION",
    "zone": "SCW_DEFAULT_ZONE",
}
_FILE = {
    "access_key": "access_key",
    "secret_key": "secret_key",
    "api_url": "api_url",
    "project_id": "default_project_id",
    "organization_id": "default_organization_id",
    "region": "default_region",
    "zone": "default_zone",
}
SENSITIVE_SETTINGS = frozenset({"secret_key"})


class ScalewaySettings(BaseModel):
    """The ``providers.<name>`` block of a Scaleway provider, as the user writes it."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    profile: str | None = None  # profile in the Scaleway config file (default: SCW_PROFILE)
    config_file: Path | None = None  # default: SCW_CONFIG_PATH or ~/.config/scw/config.yaml
    access_key: str | None = None
    secret_key: SecretStr | None = None
    project_id: str | None = None
    organization_id: str | None = None
    zone: str | None = None
    region: str | None = None
    api_url: str | None = None  # e.g. http://127.0.0.1:PORT for the simulator
    transit_bucket: str | None = None  # default bucket of s3_object resources
    s3_endpoint: str | None = None  # default https://s3.<region>.scw.cloud
    s3_addressing_style: Literal["auto", "path", "virtual"] = "auto"
    verify_tls: bool = True
    ca_bundle: Path | None = None
    request_checksum_calculation: ChecksumMode = "when_required"
    response_checksum_validation: ChecksumMode = "when_required"
    connect_timeout: float = Field(default=10.0, gt=0)
    read_timeout: float = Field(default=60.0, gt=0)
    max_retries: int = Field(default=3, ge=0)  # transport retries (client.py)
    backoff_base: float = Field(default=0.5, ge=0)
    backoff_max: float = Field(default=30.0, ge=0)
    part_size_mib: int | None = Field(default=None, ge=5)
    upload_concurrency: int = Field(default=4, ge=1, le=64)
    poll_interval: float = Field(default=2.0, gt=0)
    snapshot_timeout_base: float = Field(default=600.0, gt=0)  # seconds, plus per GiB below
    snapshot_timeout_per_gib: float = Field(default=60.0, ge=0)
    server_timeout: float = Field(default=900.0, gt=0)
    drop_unmapped_nics: bool = False
    public_ip_mode: Literal["flexible", "dynamic"] = "flexible"  # a flexible IP survives stops
    verify_tcp_resolver: str | None = None  # lab: URL template -> {"host", "port"} per port


class Credentials(BaseModel):
    """Resolved API identity; ``secret_key`` stays a SecretStr."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    access_key: str | None
    secret_key: SecretStr | None
    project_id: str | None
    organization_id: str | None
    zone: str
    region: str
    api_url: str

    def __repr__(self) -> str:
        return (
            f"Credentials(access_key={self.access_key!r}, zone={self.zone!r}, "
            f"api_url={self.api_url!r})"
        )


def parse_settings(raw: Mapping[str, Any]) -> ScalewaySettings:
    """Validate the provider block; errors name the key but never echo values."""
    try:
        return ScalewaySettings.model_validate(dict(raw))
    except ValidationError as exc:
        lines = [
            f"{'.'.join(str(p) for p in e['loc']) or '(block)'}: {e['msg']}" for e in exc.errors()
        ]
        raise ConfigError(
            "invalid scaleway provider settings: " + "; ".join(lines),
            hint="see docs/providers/scaleway.md for the accepted keys",
        ) from None


def _read_profile(path: Path, name: str | None, *, explicit: bool) -> dict[str, Any]:
    """Keys of one profile of the Scaleway config file (top level = default profile)."""
    if not path.is_file():
        if explicit:
            raise ConfigError(f"Scaleway config file {path} not found")
        return {}
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        what = type(exc).__name__
        raise ConfigError(f"cannot read Scaleway config file {path}: {what}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"Scaleway config file {path} is not a mapping")
    base = {k: v for k, v in data.items() if k != "profiles"}
    name = name or data.get("active_profile")
    if name and name != "default":
        profiles = data.get("profiles") or {}
        if name not in profiles:
            raise ConfigError(
                f"profile {name!r} not found in {path}",
                hint=f"known profiles: {', '.join(sorted(profiles)) or 'none'}",
            )
        base.update(profiles[name] or {})
    return base


def resolve_credentials(
    settings: ScalewaySettings, environ: Mapping[str, str] | None = None
) -> Credentials:
    """Config block first, then ``SCW_*`` environment, then the config file profile."""
    env = os.environ if environ is None else environ
    path = settings.config_file or Path(
        env.get("SCW_CONFIG_PATH") or Path.home() / ".config" / "scw" / "config.yaml"
    )
    profile_name = settings.profile or env.get("SCW_PROFILE")
    explicit = settings.config_file is not None or settings.profile not in (None, "default")
    from_file = _read_profile(Path(path), profile_name, explicit=explicit)
    values: dict[str, Any] = {}
    for key in _ENV:
        own = getattr(settings, key)
        if isinstance(own, SecretStr):
            own = own.get_secret_value()
        values[key] = own or env.get(_ENV[key]) or from_file.get(_FILE[key])
    zone = values["zone"] or "fr-par-1"
    region = values["region"] or zone.rsplit("-", 1)[0]
    api_url = (values["api_url"] or "https://api.scaleway.com").rstrip("/")
    return Credentials(
        access_key=values["access_key"],
        secret_key=SecretStr(values["secret_key"]) if values["secret_key"] else None,
        project_id=values["project_id"],
        organization_id=values["organization_id"],
        zone=zone,
        region=region,
        api_url=api_url,
    )


def region_of(zone: str) -> str:
    """``fr-par-1`` -> ``fr-par``."""
    return zone.rsplit("-", 1)[0] if zone.count("-") >= 2 else zone
