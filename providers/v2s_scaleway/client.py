"""The Scaleway SDK with timeouts, retries and error classification the SDK lacks.

The SDK calls ``requests.request`` with no timeout and no retry, and raises a
JSON decode error on the empty-body 429 the real API sends. ``_request`` and
``_throw_on_error`` are replaced here; everything else is the official SDK.

Retries here are transport retries only (urllib3, ``max_retries``): a connection
that could not be made (any method: nothing was sent) and a reset or timeout while
reading the answer of a safe method (GET, HEAD, DELETE). A 429 or 5xx answer is
never retried here: it raises :class:`ApiTransientError` with the ``Retry-After``
hint, and the walker's one retry policy decides (DESIGN §12). A POST/PATCH that
failed after it may have reached the server raises :class:`MaybeAppliedError`:
the next try looks for the object by its tags first (see ``adopt.py``).
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlparse

import requests
from requests.adapters import HTTPAdapter
from scaleway import Client
from scaleway.block.v1 import BlockV1API
from scaleway.instance.v1.custom_api import InstanceUtilsV1API
from urllib3.exceptions import NewConnectionError
from urllib3.util.retry import Retry

from vmware2scw.errors import ProviderError, TransientError

from .settings import Credentials, ScalewaySettings

log = logging.getLogger("v2s.scaleway")
SAFE_METHODS = frozenset({"GET", "HEAD", "DELETE", "OPTIONS"})


class ApiError(ProviderError):
    """The API refused a request (4xx other than 429); ``status`` and ``type`` say why."""

    def __init__(self, message: str, *, status: int, type_: str = "", body: Any = None):
        super().__init__(message)
        self.status = status
        self.type = type_
        self.body = body


class ApiTransientError(TransientError):
    """429, 5xx or a network error: the walker retries (after ``retry_after`` if given)."""

    def __init__(self, message: str, *, status: int | None = None,
                 retry_after: float | None = None):
        super().__init__(message, hint="retry later; v2s resumes where it stopped",
                         retry_after=retry_after)
        self.status = status


class MaybeAppliedError(ApiTransientError):
    """A non-idempotent call failed after it may have reached the server."""


def retry_after(value: str | None) -> float | None:
    """The seconds of a ``Retry-After: N`` header (an HTTP date is ignored)."""
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None


def transport_retries(settings: ScalewaySettings) -> Retry:
    """urllib3 retries: unsent requests (any method) and lost answers of safe methods only."""
    return Retry(total=settings.max_retries, connect=settings.max_retries,
                 read=settings.max_retries, status=0, other=0, redirect=0,
                 allowed_methods=SAFE_METHODS, backoff_factor=settings.backoff_base,
                 backoff_max=settings.backoff_max, raise_on_status=False,
                 respect_retry_after_header=False)


def _error_message(res: requests.Response) -> tuple[str, str, Any]:
    """(message, type, body) of an error response; tolerate empty and non-JSON bodies."""
    try:
        body = res.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        typ = str(body.get("type", ""))
        msg = str(body.get("message", "")) or typ
        extra = body.get("details") or body.get("fields")
        if extra:
            msg = f"{msg} ({json.dumps(extra, sort_keys=True)[:400]})"
        return msg, typ, body
    if res.status_code == 429:
        return "rate limited (HTTP 429)", "rate_limited", None
    text = (res.text or "").strip()[:200]
    return text or f"HTTP {res.status_code}", "", None


class _TimedAPI:
    """Mixin replacing the SDK transport: session, timeout, retries, classified errors."""

    client: Client
    _session: requests.Session
    _timeout: tuple[float, float]
    _verify: bool | str

    def _setup(self, session: requests.Session, timeout: tuple[float, float],
               verify: bool | str) -> None:
        self._session = session
        self._timeout = timeout
        self._verify = verify

    def _request(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        body: Any = None,
    ) -> requests.Response:
        method = method.upper()
        hdrs = {"accept": "application/json", "user-agent": self.client.user_agent}
        if method in {"POST", "PUT", "PATCH"}:
            hdrs["Content-Type"] = "application/json; charset=utf-8"
        hdrs.update(headers or {})
        if self.client.secret_key:
            hdrs["x-auth-token"] = self.client.secret_key
        raw = body if isinstance(body, bytes) else json.dumps({} if body is None else body)
        query: list[tuple[str, Any]] = []
        for k, v in (params or {}).items():
            if v is None:
                continue
            if isinstance(v, list):
                query.extend((k, i) for i in v)
            else:
                query.append((k, v))
        url = f"{self.client.api_url}{path}"
        what = f"{method} {path}"
        try:
            res = self._session.request(
                method, url, params=query, headers=hdrs, data=raw,
                timeout=self._timeout, verify=self._verify,
            )
        except (requests.ConnectionError, requests.Timeout,
                requests.exceptions.ChunkedEncodingError) as exc:
            text = f"{what}: {_cause(exc)}"
            if method in SAFE_METHODS or isinstance(exc, requests.ConnectTimeout) or _refused(exc):
                raise ApiTransientError(text) from None
            raise MaybeAppliedError(f"{text} (the request may have been applied)") from None
        status = res.status_code
        if status != 429 and status < 500:
            _merge_total_count(res)
            return res
        msg, _, _ = _error_message(res)
        text = f"{what}: HTTP {status} {msg}"
        hint = retry_after(res.headers.get("Retry-After"))
        log.debug("%s (Retry-After %s)", text, hint)
        if method not in SAFE_METHODS and status != 429:
            raise MaybeAppliedError(text, status=status, retry_after=hint)
        raise ApiTransientError(text, status=status, retry_after=hint)

    def _throw_on_error(self, res: requests.Response) -> None:
        if res.status_code < 400:
            return
        msg, typ, body = _error_message(res)
        method = res.request.method if res.request is not None else ""
        path = urlparse(res.url).path if res.url else ""
        text = f"Scaleway API {method} {path}: HTTP {res.status_code} {msg}"
        if res.status_code == 429 or res.status_code >= 500:
            raise ApiTransientError(text, status=res.status_code)
        if res.status_code == 409 and typ == "transient_state":
            raise ApiTransientError(text, status=res.status_code)
        raise ApiError(text, status=res.status_code, type_=typ, body=body)


def _cause(exc: Exception) -> str:
    """The name of what went wrong below requests (e.g. NewConnectionError, ReadTimeoutError)."""
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return type(reason).__name__ if isinstance(reason, Exception) else type(exc).__name__


def _refused(exc: Exception) -> bool:
    """True when the connection was never established (the request was not sent)."""
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(reason, NewConnectionError)


def _merge_total_count(res: requests.Response) -> None:
    """The SDK folds ``X-Total-Count`` into the body; keep doing so."""
    total = res.headers.get("x-total-count")
    if not total:
        return
    try:
        data = res.json()
    except ValueError:
        return
    if isinstance(data, dict):
        data["total_count"] = total
        res._content = json.dumps(data).encode()


class BlockAPI(_TimedAPI, BlockV1API):  # type: ignore[misc]
    """Block Storage v1 with v2s transport."""


class InstanceAPI(_TimedAPI, InstanceUtilsV1API):  # type: ignore[misc]
    """Instance v1 (with the SDK's create_server helper) with v2s transport."""


class ScalewayClient:
    """One SDK client + Block and Instance APIs sharing one pooled session."""

    def __init__(self, creds: Credentials, settings: ScalewaySettings):
        if not creds.secret_key:
            raise ProviderError(
                "no Scaleway secret key found",
                hint="set secret_key in the provider block, SCW_SECRET_KEY, "
                "or a profile in ~/.config/scw/config.yaml",
            )
        self.creds = creds
        self.client = Client(
            access_key=creds.access_key,
            secret_key=creds.secret_key.get_secret_value(),
            default_project_id=creds.project_id,
            default_organization_id=creds.organization_id,
            default_region=creds.region,
            default_zone=creds.zone,
            api_url=creds.api_url,
        )
        self.session = requests.Session()
        adapter = HTTPAdapter(pool_connections=4, pool_maxsize=32,
                              max_retries=transport_retries(settings))
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        verify: bool | str = str(settings.ca_bundle) if settings.ca_bundle else settings.verify_tls
        timeout = (settings.connect_timeout, settings.read_timeout)
        self.block = BlockAPI(self.client, bypass_validation=True)
        self.instance = InstanceAPI(self.client, bypass_validation=True)
        for api in (self.block, self.instance):
            api._setup(self.session, timeout, verify)
        self._lock = threading.Lock()

    @property
    def project_id(self) -> str | None:
        return self.creds.project_id

    def close(self) -> None:
        """Close pooled connections."""
        self.session.close()

    def __repr__(self) -> str:
        return f"ScalewayClient(api_url={self.creds.api_url!r}, zone={self.creds.zone!r})"


def is_not_found(exc: BaseException) -> bool:
    """True for a 404 from the API."""
    return isinstance(exc, ApiError) and exc.status == 404
