"""State locks: who holds one (LockInfo), the error that names them, and a context manager."""

from __future__ import annotations

import contextlib
import datetime as dt
import getpass
import os
import socket
import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, ValidationError

from vmware2scw.errors import LockError, StateError

if TYPE_CHECKING:
    from vmware2scw.state.backend import Backend


class LockInfo(BaseModel):
    """What a lock records: its id, who took it, for which operation, and when."""

    model_config = ConfigDict(frozen=True, extra="ignore")
    id: str
    who: str  # user@host pid N
    operation: str  # e.g. "apply", "destroy", "state rm"
    created: str  # ISO 8601, UTC

    @classmethod
    def new(cls, operation: str) -> LockInfo:
        """A fresh lock record for this process."""
        try:
            user = getpass.getuser()
        except (KeyError, OSError):
            user = str(os.getuid())
        now = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
        return cls(
            id=str(uuid.uuid4()),
            who=f"{user}@{socket.gethostname()} pid {os.getpid()}",
            operation=operation,
            created=now,
        )

    def to_bytes(self) -> bytes:
        return self.model_dump_json(indent=2).encode() + b"\n"

    @classmethod
    def from_bytes(cls, data: bytes) -> LockInfo | None:
        """The lock record in ``data``, or None when it is empty or garbled."""
        try:
            return cls.model_validate_json(data)
        except ValidationError:
            return None


def locked_error(where: str, holder: LockInfo | None) -> LockError:
    """The error for a lock held by someone else; names the holder and the way out."""
    if holder is None:
        return LockError(
            f"{where} is locked by another run (its lock record could not be read)",
            hint="wait for the other run to finish; if none is running, remove the lock "
            "with `v2s force-unlock ID` (see `v2s force-unlock --help`)",
        )
    return LockError(
        f"{where} is locked by {holder.who} (operation {holder.operation!r}, "
        f"since {holder.created}, lock ID {holder.id})",
        hint=f"wait for that run to finish; if it died, run `v2s force-unlock {holder.id}`",
    )


def wrong_id_error(where: str, lock_id: str, holder: LockInfo | None) -> StateError:
    """The error for unlocking with an ID that is not the current lock's."""
    if holder is None:
        return StateError(f"{where} is not locked (no lock with ID {lock_id})")
    return LockError(
        f"{where}: lock ID {lock_id} does not match the current lock {holder.id} "
        f"held by {holder.who} (operation {holder.operation!r}, since {holder.created})",
        hint=f"to remove that lock, run `v2s force-unlock {holder.id}`",
    )


@contextlib.contextmanager
def held(backend: Backend, operation: str) -> Iterator[LockInfo]:
    """Hold the backend's lock for ``operation`` within the block (LockError if taken)."""
    info = LockInfo.new(operation)
    backend.lock(info)
    try:
        yield info
    finally:
        backend.unlock(info.id)
