"""The one exception tree of v2s.

    V2SError                      base; carries an optional resource address and hint
    ├── ConfigError               bad desired-state file (has file:line:column)
    ├── AddressError              a malformed resource address (vmware2scw.addresses)
    ├── StateError                unreadable / incompatible state
    │   └── LockError             the state is locked by someone else
    ├── StalePlanError            a saved plan no longer matches state or source
    └── ProviderError             a provider call failed; not retried
        ├── TransientError        ... and may succeed when retried (.retry_after: a hint)
        │   └── ApiTransientError       v2s_scaleway: 429, 5xx, reset (.status)
        │       └── MaybeAppliedError   a create that may have landed: found by its tags
        ├── ApiError              v2s_scaleway: the API refused a request (.status, .type)
        ├── ConversionError       v2s_qemu: the guest could not be converted, from
        ├── GuestfishError          a guestfish command that failed,
        ├── ImageError              qemu-img output Scaleway would refuse,
        ├── LayoutError             a boot disk BIOS -> UEFI cannot convert,
        └── UnsupportedGuest        a guest OS the conversion does not handle

Providers raise only these (their own classes derive from ``ProviderError``). The
walker retries ``TransientError`` alone, by the one policy in ``vmware2scw.retry``.
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

    def __init__(self, message: str, *, address: str | None = None, hint: str | None = None,
                 retry_after: float | None = None):
        super().__init__(message, address=address, hint=hint)
        self.retry_after = retry_after  # seconds the service asked us to wait, if it said
