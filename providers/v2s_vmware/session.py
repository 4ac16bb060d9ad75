"""One vCenter session per run: TLS per settings, re-login on expiry, PropertyCollector reads.

Everything is read through the PropertyCollector (``RetrievePropertiesEx``), never through
lazy managed-object properties, and tasks are awaited by polling ``info.state`` the same
way: both avoid vcsim bugs and keep the number of SOAP calls independent of the VM count.
"""

from __future__ import annotations

import contextlib
import hashlib
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any, TypeVar
from urllib.parse import urlsplit

import requests
import urllib3
from requests.adapters import HTTPAdapter

from v2s_vmware._vmomi import SoapStubAdapter, vim, vmodl
from v2s_vmware.settings import VMwareSettings
from vmware2scw.errors import ProviderError, TransientError

T = TypeVar("T")
MAX_OBJECTS = 100_000  # ask for everything in one page; continuation tokens are still followed
API_VERSION = "vim.version.version12"  # vSphere 6.7 API (VirtualTPM); later vCenters accept it


class _CountingStub(SoapStubAdapter):  # type: ignore[misc,unused-ignore]
    """A SOAP stub that counts its round trips (benchmarks and tests read ``calls``)."""

    calls = 0

    def InvokeMethod(self, mo: Any, info: Any, args: Any, outer_stub: Any = None) -> Any:  # noqa: N802
        self.calls += 1
        return super().InvokeMethod(mo, info, args, outer_stub)

    def InvokeAccessor(self, mo: Any, info: Any) -> Any:  # noqa: N802
        self.calls += 1
        return super().InvokeAccessor(mo, info)


class _PinnedAdapter(HTTPAdapter):
    """requests adapter that accepts exactly the certificate with the pinned fingerprint."""

    def __init__(self, fingerprint: str, **kwargs: Any) -> None:
        self._fingerprint = fingerprint
        super().__init__(**kwargs)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs["assert_fingerprint"] = self._fingerprint
        super().init_poolmanager(*args, **kwargs)


def ssl_context(settings: VMwareSettings) -> ssl.SSLContext:
    """Verified by default; ``insecure`` disables checks (a pinned thumbprint is checked on top)."""
    ctx = ssl.create_default_context(cafile=settings.ca_file or None)
    if settings.insecure:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


def peer_fingerprint(host: str, port: int, algorithm: str, timeout_s: float) -> str:
    """Hex digest of the DER certificate the server presents (no verification)."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with socket.create_connection((host, port), timeout=timeout_s) as raw, \
            ctx.wrap_socket(raw, server_hostname=host) as tls:
        der = tls.getpeercert(binary_form=True) or b""
    return hashlib.new(algorithm, der).hexdigest()


def _colons(hexed: str) -> str:
    return ":".join(hexed[i : i + 2] for i in range(0, len(hexed), 2)).upper()


def _fault_text(exc: Any) -> str:
    msg = getattr(exc, "msg", "") or getattr(exc, "localizedMessage", "") or ""
    return f"{type(exc).__name__}: {msg}".strip(": ") if msg else type(exc).__name__


class Session:
    """A lazily opened vCenter session shared by every call of one provider instance."""

    def __init__(self, settings: VMwareSettings) -> None:
        self.settings = settings
        self._lock = threading.RLock()
        self._stub: _CountingStub | None = None
        self._content: Any = None
        self._http: requests.Session | None = None
        self._stop = threading.Event()
        self._keepalive: threading.Thread | None = None

    # --- connection --------------------------------------------------------------------------

    @property
    def soap_calls(self) -> int:
        """SOAP round trips made so far by this session."""
        return self._stub.calls if self._stub is not None else 0

    @property
    def stub(self) -> Any:
        """The SOAP stub (for building managed-object references)."""
        _ = self.content
        return self._stub

    @property
    def content(self) -> Any:
        """The ServiceContent, connecting and logging in on first use."""
        with self._lock:
            if self._content is None:
                self._connect()
            return self._content

    def _connect(self) -> None:
        host, port = self.settings.host_port
        pinned = self.settings.thumbprint
        if pinned:  # checked even when the CA chain verifies, before credentials are sent
            algorithm = "sha1" if len(pinned) == 40 else "sha256"
            try:
                seen = peer_fingerprint(host, port, algorithm, self.settings.timeout_s)
            except OSError as exc:
                raise TransientError(f"cannot reach vCenter {host}: {exc}") from None
            if seen != pinned:
                raise ProviderError(
                    f"vCenter {host} presented a certificate that does not match the pinned "
                    f"thumbprint (it presents {algorithm.upper()} {_colons(seen)})",
                    hint="check `thumbprint` against the certificate vCenter shows",
                )
        try:
            if self._stub is None:
                self._stub = _CountingStub(
                    host=host,
                    port=port,
                    path=urlsplit(self.settings.url).path or "/sdk",
                    version=API_VERSION,
                    sslContext=ssl_context(self.settings),
                    thumbprint=self.settings.thumbprint or None,
                    connectionPoolTimeout=-1,
                )
            si = vim.ServiceInstance("ServiceInstance", self._stub)
            content = si.RetrieveContent()
            content.sessionManager.Login(
                self.settings.username, self.settings.password.get_secret_value()
            )
        except vim.fault.InvalidLogin:
            raise ProviderError(
                f"vCenter {host} refused the login for user {self.settings.username!r}",
                hint="check username/password (or GOVC_USERNAME/GOVC_PASSWORD)",
            ) from None
        except (ssl.SSLError, vim.fault.SSLVerifyFault) as exc:
            raise ProviderError(
                f"TLS verification of vCenter {host} failed: {exc}",
                hint="give its CA with `ca_file`, pin its certificate with `thumbprint`, "
                "or (lab only) set `insecure: true`",
            ) from None
        except Exception as exc:
            if "thumbprint" in str(exc).lower():
                raise ProviderError(
                    f"vCenter {host} presented a certificate that does not match the pinned "
                    "thumbprint",
                    hint="check `thumbprint` against the certificate vCenter shows",
                ) from None
            if isinstance(exc, OSError):
                raise TransientError(f"cannot reach vCenter {host}: {exc}") from None
            raise
        self._content = content
        if self.settings.keepalive_s and self._keepalive is None:
            self._stop.clear()
            self._keepalive = threading.Thread(target=self._ping, name="v2s-vc-keepalive",
                                               daemon=True)
            self._keepalive.start()

    def _ping(self) -> None:
        """Keep the session from idling out during long exports (re-login if it did)."""
        while not self._stop.wait(self.settings.keepalive_s):
            with contextlib.suppress(Exception):
                self.check_session()

    def check_session(self) -> None:
        """Touch the session (keeps it alive); log in again when it has expired."""
        manager = self.content.sessionManager
        if self.properties(manager, "currentSession").get("currentSession") is None:
            self.relogin()

    def relogin(self) -> None:
        """Log in again on the same connection (after the session expired)."""
        with self._lock:
            self._content = None
            if self._stub is not None:
                self._stub.cookie = ""
            self._connect()

    def call(self, fn: Callable[[Any], T]) -> T:
        """Run ``fn(content)``; on an expired session log in again and retry once."""
        try:
            return fn(self.content)
        except vim.fault.NotAuthenticated:
            self.relogin()
            return fn(self.content)

    def cookie(self) -> str:
        """The session cookie value (for datastore HTTP requests)."""
        _ = self.content
        assert self._stub is not None
        raw: str = self._stub.cookie or ""
        first = raw.split(";", 1)[0]
        return first.split("=", 1)[1].strip('"') if "=" in first else first

    def close(self) -> None:
        """Log out and drop connections (idempotent)."""
        self._stop.set()
        if self._keepalive is not None:
            self._keepalive.join(timeout=5)
            self._keepalive = None
        with self._lock:
            if self._content is not None:
                with contextlib.suppress(Exception):  # best effort at shutdown
                    self._content.sessionManager.Logout()
            if self._stub is not None:
                self._stub.DropConnections()
            if self._http is not None:
                self._http.close()
            self._content, self._http, self._stub = None, None, None

    # --- reads -------------------------------------------------------------------------------

    def retrieve(
        self, objects: Iterable[Any], props: Iterable[Any]
    ) -> list[tuple[Any, dict[str, Any]]]:
        """One RetrievePropertiesEx (plus continuations): ``[(moref, {path: value})]``."""
        spec = vmodl.query.PropertyCollector.FilterSpec(
            objectSet=list(objects), propSet=list(props)
        )
        options = vmodl.query.PropertyCollector.RetrieveOptions(maxObjects=MAX_OBJECTS)

        def run(content: Any) -> list[Any]:
            pc = content.propertyCollector
            result = pc.RetrievePropertiesEx([spec], options)
            found = list(result.objects) if result else []
            while result is not None and result.token:
                result = pc.ContinueRetrievePropertiesEx(result.token)
                found.extend(result.objects)
            return found

        return [(oc.obj, {p.name: p.val for p in (oc.propSet or [])}) for oc in self.call(run)]

    def properties(self, obj: Any, *paths: str) -> dict[str, Any]:
        """Some properties of one managed object (``{}`` when it no longer exists)."""
        spec = vmodl.query.PropertyCollector.PropertySpec(type=type(obj), pathSet=list(paths))
        try:
            rows = self.retrieve([vmodl.query.PropertyCollector.ObjectSpec(obj=obj)], [spec])
        except vmodl.fault.ManagedObjectNotFound:
            return {}
        return rows[0][1] if rows else {}

    def wait_task(
        self, task: Any, *, what: str, address: str | None = None, timeout_s: float | None = None,
        cancelled: threading.Event | None = None,
    ) -> Any:
        """Poll ``info.state`` through the PropertyCollector until the task ends; its result.

        ``cancelled`` ends the wait at once (TransientError); the task itself goes on in
        vCenter, and the next apply finds what it made (snapshots by name, power by state).
        """
        deadline = time.monotonic() + (timeout_s or self.settings.timeout_s)
        stop = cancelled or threading.Event()
        delay = 0.02
        while True:
            info = self.properties(task, "info.state", "info.error", "info.result")
            state = info.get("info.state")
            if state == "success":
                return info.get("info.result")
            if state == "error":
                err = info.get("info.error")
                text = getattr(err, "localizedMessage", "") or _fault_text(
                    getattr(err, "fault", err)
                )
                raise ProviderError(f"{what} failed in vCenter: {text}", address=address)
            if time.monotonic() > deadline:
                raise TransientError(
                    f"{what}: vCenter task still {state} after the timeout",
                    address=address,
                    hint="re-run apply to continue waiting",
                )
            if stop.wait(delay):
                raise TransientError(f"cancelled while waiting: {what} (the vCenter task goes on)",
                                     address=address)
            delay = min(delay * 2, 1.0)

    # --- datastore HTTP ----------------------------------------------------------------------

    def http(self, pool: int = 8) -> requests.Session:
        """A requests session for datastore transfers: TLS as for SOAP, environment ignored."""
        with self._lock:
            if self._http is None:
                s = requests.Session()
                s.trust_env = False  # REQUESTS_CA_BUNDLE would override our verify setting
                if self.settings.thumbprint:
                    s.verify = False
                    s.mount(
                        "https://",
                        _PinnedAdapter(
                            self.settings.thumbprint, pool_maxsize=pool, pool_connections=4
                        ),
                    )
                else:
                    s.verify = self.settings.ca_file or not self.settings.insecure
                    if self.settings.insecure:  # chosen explicitly; configure() warns once
                        urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
                    s.mount("https://", HTTPAdapter(pool_maxsize=pool, pool_connections=4))
                self._http = s
            self._http.cookies.set("vmware_soap_session", self.cookie())
            return self._http


def container_view_spec(content: Any, types: list[Any]) -> tuple[Any, Any]:
    """A ContainerView over the whole inventory and the ObjectSpec that traverses it."""
    view = content.viewManager.CreateContainerView(content.rootFolder, types, True)
    traverse = vmodl.query.PropertyCollector.TraversalSpec(
        name="view", path="view", skip=False, type=vim.view.ContainerView
    )
    obj = vmodl.query.PropertyCollector.ObjectSpec(obj=view, skip=True, selectSet=[traverse])
    return view, obj
