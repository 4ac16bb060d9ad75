"""The state backend interface, its settings models, and ``from_config``.

A backend stores one state document and one lock. Implementations: ``local``
(a file beside the config) and ``s3`` (S3 / Scaleway Object Storage).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from vmware2scw.errors import StateError
from vmware2scw.state.lock import LockInfo
from vmware2scw.state.model import State

__all__ = [
    "BACKEND_SETTINGS",
    "DEFAULT_STATE_FILE",
    "Backend",
    "LocalSettings",
    "LockInfo",
    "S3Settings",
    "from_config",
]

DEFAULT_STATE_FILE = "v2s.tfstate.json"  # as in vmware2scw.config.model and the examples
ChecksumMode = Literal["when_required", "when_supported"]


@runtime_checkable
class Backend(Protocol):
    """Where a state lives. Every method raises StateError (LockError for locks) on failure."""

    def read(self) -> State | None:
        """The stored state, or None when there is none yet."""

    def write(self, state: State) -> None:
        """Store ``state`` atomically, keeping the previous version as the backup."""

    def write_bytes(self, data: bytes) -> None:
        """Store already-encoded state bytes (codec.dumps) atomically, like ``write``."""

    def read_backup(self) -> State | None:
        """The backup (the version before the last write), or None."""

    def lock(self, info: LockInfo) -> str:
        """Take the lock for ``info`` and return its id; LockError names the holder if taken."""

    def unlock(self, lock_id: str) -> None:
        """Release a lock this process took."""

    def force_unlock(self, lock_id: str) -> None:
        """Remove the lock with this id, whoever holds it (`v2s force-unlock ID`)."""

    def current_lock(self) -> LockInfo | None:
        """The lock being held right now, if any."""

    def describe(self) -> str:
        """Where the state lives, for messages (a path or an s3:// URL)."""


class _Settings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class LocalSettings(_Settings):
    """``backend: {local: {path: ...}}``: a file, relative to the config's folder."""

    path: str = DEFAULT_STATE_FILE


class S3Settings(_Settings):
    """``backend: {s3: {...}}``: an object in an S3 bucket (Scaleway Object Storage by default)."""

    bucket: str = Field(min_length=3, max_length=63)
    key: str = Field(min_length=1)
    region: str = "fr-par"
    endpoint: str | None = None  # default: https://s3.<region>.scw.cloud for Scaleway regions
    profile: str | None = None  # a profile of ~/.aws/credentials
    access_key: str | None = None
    secret_key: str | None = Field(default=None, repr=False)  # sensitive: never persisted
    verify: bool | str = True  # False, or a CA bundle path
    addressing_style: Literal["auto", "path", "virtual"] = "auto"
    request_checksum_calculation: ChecksumMode = "when_required"
    response_checksum_validation: ChecksumMode = "when_required"


BACKEND_SETTINGS: dict[str, type[_Settings]] = {"local": LocalSettings, "s3": S3Settings}
SENSITIVE_SETTINGS = frozenset({"secret_key"})


def _settings_error(kind: str, exc: ValidationError) -> StateError:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"])
    return StateError(
        f"backend.{kind}.{where}: {first['msg']}",
        hint=f"expected settings: {', '.join(BACKEND_SETTINGS[kind].model_fields)}",
    )


def from_config(block: dict[str, Any] | None, base_dir: Path) -> Backend:
    """The backend a config's ``backend:`` block names (None: the local default)."""
    from vmware2scw.state.local import LocalBackend

    if not block:
        return LocalBackend(base_dir / DEFAULT_STATE_FILE)
    if len(block) != 1 or next(iter(block)) not in BACKEND_SETTINGS:
        raise StateError(
            f"backend: expected exactly one of {', '.join(BACKEND_SETTINGS)}, got "
            f"{', '.join(map(str, block)) or 'nothing'}"
        )
    kind, raw = next(iter(block.items()))
    try:
        settings = BACKEND_SETTINGS[kind].model_validate(raw or {})
    except ValidationError as exc:
        raise _settings_error(kind, exc) from None
    if isinstance(settings, LocalSettings):
        path = Path(settings.path).expanduser()
        return LocalBackend(path if path.is_absolute() else base_dir / path)
    from vmware2scw.state.s3 import S3Backend

    assert isinstance(settings, S3Settings)
    return S3Backend.from_settings(settings)
