"""The desired-state file as frozen pydantic models (``v2s.yaml``, format ``v2s: 1``).

Unknown keys are errors everywhere except inside a provider block, whose settings the
provider plug-in validates. ``defaults`` is merged into every migration before the
migration is validated, so any migration field may come from ``defaults``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

CONFIG_VERSION = 1
VariableType = Literal["string", "number", "bool", "list", "map"]
Port = Annotated[int, Field(ge=1, le=65535)]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)


class Variable(_Model):
    """An input variable: ``${var.<name>}``."""

    type: VariableType | None = Field(default=None, description="Value type; any when omitted.")
    default: Any = Field(default=None, description="Value used when nothing else sets one.")
    description: str = ""
    sensitive: bool = Field(
        default=False, description="Secret: only usable in provider settings, never persisted."
    )

    @property
    def has_default(self) -> bool:
        """True when ``default`` was written in the file (even as null)."""
        return "default" in self.model_fields_set


class LocalBackendConfig(_Model):
    """State in a local file."""

    path: str = Field(default="v2s.tfstate.json", description="State file, relative to the config.")


ENV_REFERENCE = r"^\$\{env\.[A-Za-z_][A-Za-z0-9_]*\}$"
BACKEND_SECRETS = ("access_key", "secret_key")  # of backend.s3: ${env.NAME} only, sensitive
_ENV_ONLY: dict[str, Any] = {"pattern": ENV_REFERENCE, "writeOnly": True}


class S3BackendConfig(_Model):
    """State in an S3 bucket (Scaleway Object Storage or any S3 endpoint)."""

    bucket: str = Field(min_length=1)
    key: str = Field(min_length=1)
    region: str = "fr-par"
    endpoint: str | None = Field(default=None, description="e.g. https://s3.fr-par.scw.cloud")
    # Below: state backend options read by vmware2scw.state.backend.S3Settings (E2).
    profile: str | None = Field(default=None, description="Credentials profile (~/.aws).")
    access_key: str | None = Field(
        default=None, repr=False, json_schema_extra=_ENV_ONLY,
        description="Access key, only as an ${env.NAME} reference (sensitive; default: "
        "boto3's chain, then SCW_ACCESS_KEY).",
    )
    secret_key: str | None = Field(
        default=None, repr=False, json_schema_extra=_ENV_ONLY,
        description="Secret key, only as an ${env.NAME} reference (sensitive; never "
        "stored; default: boto3's chain, then SCW_SECRET_KEY).",
    )
    verify: bool | str = Field(
        default=True, description="TLS check: true, false, or the path of a CA bundle."
    )
    addressing_style: Literal["auto", "path", "virtual"] = Field(
        default="auto", description="S3 addressing: auto, path or virtual (host) style."
    )
    request_checksum_calculation: Literal["when_required", "when_supported"] = Field(
        default="when_required", description="Upload checksums: only where S3 requires them."
    )
    response_checksum_validation: Literal["when_required", "when_supported"] = Field(
        default="when_required", description="Download checksum checks: only where required."
    )


class BackendConfig(_Model):
    """Where state lives: exactly one of ``local`` or ``s3`` (default: local file)."""

    local: LocalBackendConfig | None = None
    s3: S3BackendConfig | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> BackendConfig:
        if (self.local is None) == (self.s3 is None):
            raise ValueError("needs exactly one of 'local' or 's3'")
        return self


DEFAULT_REMOTE_KINDS = ("export", "convert", "upload", "sync", "attach")


class ExecutorTLS(_Model):
    """Certificates for mutual TLS with the Dask scheduler (paths, relative to the config)."""

    ca_file: str = Field(min_length=1, description="CA that signed the scheduler's and workers' "
                         "certificates.")
    cert: str = Field(min_length=1, description="This coordinator's certificate (PEM).")
    key: str = Field(min_length=1, description="Its private key (PEM); keep it mode 0600.")


class ExecutorConfig(_Model):
    """Where data-path work runs: this process (threads) or Dask workers (docs/dask.md)."""

    type: Literal["threads", "dask"] = Field(
        default="threads", description="threads: in this process; dask: on migration hosts.")
    scheduler: str | None = Field(
        default=None, description="Dask scheduler address, tls://host:8786 (type dask).")
    tls: ExecutorTLS | None = Field(default=None, description="Required for tls:// schedulers.")
    insecure: bool = Field(
        default=False, description="Allow a plaintext tcp:// scheduler (a lab only: secrets "
        "and data would cross the network unencrypted).")
    connect_timeout: float = Field(default=10.0, gt=0, description="Seconds to reach it.")
    remote_kinds: list[str] = Field(
        default_factory=lambda: list(DEFAULT_REMOTE_KINDS),
        description="Resource kinds run on workers; the others (API calls) run here.")
    cancel_grace: float = Field(
        default=120.0, gt=0, description="Seconds a cancelled task gets to stop and checkpoint.")

    @model_validator(mode="after")
    def _coherent(self) -> ExecutorConfig:
        if self.type == "threads":
            if self.scheduler is not None or self.tls is not None:
                raise ValueError("scheduler and tls only apply to type: dask")
            return self
        if not self.scheduler:
            raise ValueError("type: dask needs a scheduler address (tls://host:8786)")
        scheme = self.scheduler.split("://", 1)[0] if "://" in self.scheduler else ""
        if scheme == "tls" and self.tls is None:
            raise ValueError("a tls:// scheduler needs tls: {ca_file, cert, key}")
        if scheme == "tcp" and not self.insecure:
            raise ValueError("refusing a plaintext tcp:// scheduler: use tls:// with "
                             "certificates, or set insecure: true in a lab")
        if scheme not in ("tls", "tcp"):
            raise ValueError(f"scheduler {self.scheduler!r} must start with tls://")
        return self


class Settings(_Model):
    """Run settings."""

    work_dir: str = Field(default=".v2s", description="Work directory, relative to the config.")
    parallelism: int = Field(default=10, ge=1, le=1000, description="Default for --parallelism.")
    limits: dict[str, Annotated[int, Field(ge=1)]] = Field(
        default_factory=dict, description="Concurrency per resource kind (export, convert, ...)."
    )
    executor: ExecutorConfig = Field(
        default_factory=ExecutorConfig, description="threads (default) or dask (migration hosts)."
    )


_ROLE_DOC = ("Local name of the provider block playing the {role} role (default: the one "
             "block whose plug-in is the default for it; docs/configuration.md#roles).")


class SourceConfig(_Model):
    """Which VM to migrate: a name, or a glob giving one instance per matching VM."""

    vm: str = Field(min_length=1, description="VM name or glob (app-*).")
    provider: str | None = Field(default=None, description=_ROLE_DOC.format(role="source"))


class SourceDefaults(_Model):
    """What ``defaults.source`` may set."""

    provider: str | None = Field(default=None, description=_ROLE_DOC.format(role="source"))


class TargetConfig(_Model):
    """The target side of a migration (read by the provider playing the target role)."""

    provider: str | None = Field(default=None, description=_ROLE_DOC.format(role="target"))
    type: str | None = Field(default=None, description="Commercial type, e.g. PRO2-S (required).")
    zone: str = "fr-par-1"
    volume_type: Literal["sbs_5k", "sbs_15k", "l_ssd", "b_ssd"] = "sbs_5k"
    name: str | None = Field(default=None, description="Server name; default: the VM name.")
    tags: list[str] = Field(default_factory=list)
    security_group: str | None = None
    public_ip: bool = True
    network_mapping: dict[str, str] = Field(
        default_factory=dict, description="Source port group -> Private Network id."
    )
    drop_unmapped_nics: bool = Field(
        default=False, description="Drop NICs on unmapped port groups."
    )


class CutoverConfig(_Model):
    """How the source is treated during migration."""

    power_off_source: bool = Field(
        default=False, description="Cold cutover: shut the VM down first."
    )


class ConvertConfig(_Model):
    """Guest conversion options (read by the provider playing the converter role)."""

    provider: str | None = Field(default=None, description=_ROLE_DOC.format(role="converter"))
    network: Literal["dhcp", "keep"] = "dhcp"
    compress: bool = False


class VerifyConfig(_Model):
    """Checks after conversion / after the server starts."""

    boot: bool = Field(default=False, description="Boot the qcow2 locally before upload.")
    tcp: list[Port] = Field(default_factory=list, description="Ports the server must answer.")


_TRANSPORT_DOC = ("How the disks reach the target, e.g. s3_import (default: the target "
                  "provider's first blueprint).")
_MODE_DOC = "Migration mode, e.g. cold (default: the target provider's first blueprint)."


class MigrationConfig(_Model):
    """One migration (or one per VM when ``source.vm`` is a glob)."""

    source: SourceConfig
    transport: str | None = Field(default=None, description=_TRANSPORT_DOC)
    mode: str | None = Field(default=None, description=_MODE_DOC)
    target: TargetConfig = TargetConfig()
    cutover: CutoverConfig = CutoverConfig()
    convert: ConvertConfig = ConvertConfig()
    verify: VerifyConfig = VerifyConfig()
    priority: int = Field(default=0, description="Lower starts first (waves).")
    prevent_destroy: bool = False


class DefaultsConfig(_Model):
    """Merged into every migration (the migration wins, maps merge deeply)."""

    source: SourceDefaults = SourceDefaults()
    transport: str | None = Field(default=None, description=_TRANSPORT_DOC)
    mode: str | None = Field(default=None, description=_MODE_DOC)
    target: TargetConfig = TargetConfig()
    cutover: CutoverConfig = CutoverConfig()
    convert: ConvertConfig = ConvertConfig()
    verify: VerifyConfig = VerifyConfig()
    priority: int = 0
    prevent_destroy: bool = False


class OutputConfig(_Model):
    """A value shown by ``v2s output`` (may reference resource attributes)."""

    value: Any
    description: str = ""
    sensitive: bool = False


class Config(_Model):
    """The whole desired-state file."""

    v2s: Literal[1] = Field(description="Format version of this file.")
    variables: dict[str, Variable] = Field(default_factory=dict)
    providers: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="Local name -> settings; `source:` names the plug-in (default: local name).",
    )
    backend: BackendConfig | None = None
    defaults: DefaultsConfig = DefaultsConfig()
    settings: Settings = Settings()
    migrations: dict[str, MigrationConfig] = Field(default_factory=dict)
    outputs: dict[str, OutputConfig] = Field(default_factory=dict)
