"""The one exception tree of v2s.

    V2SError                      base; carries an optional resource address
    ├── ConfigError               bad desired-state file (has file:line:column)
    ├── StateError                unreadable / incompatible state
    │   └── LockError             the state is locked by someone else
    ├── StalePlanError            a saved plan no longer matches state or source
    └── ProviderError             a provider call failed
        └── TransientError        ... and may succeed when retried
"""

from __future__ import annotations


class V2SError(Exception):
    """Base of every error v2s raises on purpose."""

    def __init__(self, message: str, *, address: str | None = None, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.address = address
        self.hint = hint

    def __str__(self) -> str:
        text = f"{self.address}: {self.message}" if self.address else self.message
        return f"{text}\n  hint: {self.hint}" if self.hint else text


class ConfigError(V2SError):
    """The desired-state file is invalid."""


class StateError(V2SError):
    """The state cannot be read, written or understood."""


class LockError(StateError):
    """The state is locked by another run."""


class StalePlanError(V2SError):
    """A saved plan was made against a state or source that has moved on."""


class ProviderError(V2SError):
    """A provider call failed; not worth retrying."""


class TransientError(ProviderError):
    """A provider call failed in a way that may succeed on retry (429, 5xx, reset)."""
