"""Provider settings: explicit values first, then ``GOVC_*`` / ``VSPHERE_*`` from the environment.

TLS is verified against the system trust store (or ``ca_file``) unless the user pins
the server certificate with ``thumbprint`` or says ``insecure: true``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from vmware2scw.errors import ConfigError

ONE_TB = 10**12
_TRUE = {"1", "true", "yes", "on"}


class VMwareSettings(BaseModel):
    """What the provider needs to reach vCenter and how hard it may push it."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    url: str = Field(description="vCenter URL, e.g. https://vcenter.example.com/sdk")
    username: str = ""
    password: SecretStr = SecretStr("")
    insecure: bool = False  # skip TLS verification entirely (never the default)
    thumbprint: str = ""  # pin the server certificate (SHA-1/256 hex, colons optional)
    ca_file: str = ""  # CA bundle to verify the server with (default: system store)
    datacenter: str = ""  # inventory path of the datacenter; needed when there are several
    timeout_s: float = 120.0
    keepalive_s: float = Field(default=600.0, ge=0)  # ping the session this often (0: never)
    chunk_mb: int = Field(default=32, ge=1, le=1024)  # export Range request size (in memory)
    parallel_chunks: int = Field(default=4, ge=1, le=32)  # Range requests in flight per disk
    checkpoint_every_s: float = Field(default=2.0, ge=0)  # export checkpoint throttle
    exports_per_host: int = Field(default=2, ge=1)
    exports_per_datastore: int = Field(default=4, ge=1)
    shutdown_timeout_s: float = Field(default=300.0, ge=0)  # cold cutover: guest shutdown wait
    bios_to_uefi: bool = True  # the converter turns BIOS guests into UEFI ones
    max_disk_bytes: int = ONE_TB  # Scaleway's import limit per disk
    supported_families: tuple[str, ...] = ("linux",)
    warn_families: tuple[str, ...] = ("windows",)

    @field_validator("url")
    @classmethod
    def _normalise_url(cls, value: str) -> str:
        if not value:
            raise ValueError("a vCenter URL is required (settings `url` or GOVC_URL)")
        if "//" not in value:
            value = f"https://{value}"
        parts = urlsplit(value)
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise ValueError(f"not a vCenter URL: {value!r}")
        path = parts.path if parts.path not in ("", "/") else "/sdk"
        port = f":{parts.port}" if parts.port else ""
        return f"{parts.scheme}://{parts.hostname}{port}{path}"

    @field_validator("thumbprint")
    @classmethod
    def _check_thumbprint(cls, value: str) -> str:
        hexed = value.replace(":", "").strip().lower()
        if hexed and (
            len(hexed) not in (40, 64) or any(c not in "0123456789abcdef" for c in hexed)
        ):
            raise ValueError("thumbprint must be a SHA-1 or SHA-256 hex digest, e.g. AB:CD:…")
        return hexed

    @property
    def host_port(self) -> tuple[str, int]:
        parts = urlsplit(self.url)
        assert parts.hostname is not None
        return parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)

    @property
    def base_url(self) -> str:
        parts = urlsplit(self.url)
        return f"{parts.scheme}://{parts.netloc}"


def _from_env(environ: Mapping[str, str]) -> dict[str, Any]:
    """Settings found in GOVC_* (govc) and VSPHERE_* (Terraform's vsphere provider) variables."""
    out: dict[str, Any] = {}
    url = environ.get("GOVC_URL") or environ.get("VSPHERE_SERVER", "")
    if url:
        parts = urlsplit(url if "//" in url else f"https://{url}")
        if parts.username:
            out["username"] = parts.username
        if parts.password:
            out["password"] = parts.password
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
        out["url"] = f"{parts.scheme}://{host}{port}{parts.path}"
    for key, names in {
        "username": ("GOVC_USERNAME", "VSPHERE_USER"),
        "password": ("GOVC_PASSWORD", "VSPHERE_PASSWORD"),
        "datacenter": ("GOVC_DATACENTER", "VSPHERE_DATACENTER"),
        "ca_file": ("GOVC_TLS_CA_CERTS",),
        "thumbprint": ("GOVC_THUMBPRINT",),
    }.items():
        for name in names:
            if environ.get(name):
                out[key] = environ[name]
                break
    for name in ("GOVC_INSECURE", "VSPHERE_ALLOW_UNVERIFIED_SSL"):
        if environ.get(name):
            out["insecure"] = environ[name].strip().lower() in _TRUE
            break
    return out


def resolve(settings: Mapping[str, Any], environ: Mapping[str, str]) -> VMwareSettings:
    """Merge explicit settings over the environment; ConfigError says what is wrong (no secrets)."""
    merged = _from_env(environ)
    merged.update({k: v for k, v in settings.items() if v is not None and v != ""})
    try:
        return VMwareSettings.model_validate(merged)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'settings'}: {e['msg']}" for e in exc.errors()
        )
        raise ConfigError(
            f"vmware provider settings: {problems}",
            hint="see docs/providers/vmware.md (url, username, password, thumbprint or ca_file)",
        ) from None
