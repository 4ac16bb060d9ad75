"""Connecting to the Dask scheduler: mutual TLS from the config, clear errors.

Certificates are checked against the CA (distributed does not check host names); a
plaintext ``tcp://`` scheduler needs ``insecure: true`` (refused by the config model
otherwise). Every failure says what to check, before anything is created.
"""

from __future__ import annotations

import re
import ssl
from pathlib import Path

from distributed import Client
from distributed.security import Security

from vmware2scw.config.model import ExecutorConfig
from vmware2scw.errors import ConfigError, V2SError


def security(*, ca_file: Path | None, cert: Path | None, key: Path | None,
             role: str) -> Security:
    """A Security for ``role`` (client | worker | scheduler); None files: plaintext."""
    if ca_file is None and cert is None and key is None:
        return Security()
    paths = {"tls.ca_file": ca_file, "tls.cert": cert, "tls.key": key}
    for name, path in paths.items():
        if path is None:
            raise ConfigError(f"{name} is missing", hint="give all three of ca_file, cert, key")
        if not path.is_file():
            raise ConfigError(f"{name}: {path} is not a readable file",
                              hint="point it at a PEM file (paths are relative to the config)")
    assert ca_file is not None and cert is not None and key is not None
    options = {f"tls_{role}_cert": str(cert), f"tls_{role}_key": str(key)}
    try:
        ssl.create_default_context(cafile=str(ca_file)).load_cert_chain(str(cert), str(key))
    except (ssl.SSLError, OSError) as exc:
        raise ConfigError(f"tls: cannot load the certificates ({exc})",
                          hint="check that cert and key match and are PEM, and ca_file is a CA"
                          ) from None
    return Security(tls_ca_file=str(ca_file), require_encryption=True, **options)


def client_security(cfg: ExecutorConfig, base_dir: Path) -> Security:
    """The coordinator's Security from ``settings.executor``."""
    if cfg.tls is None:
        return security(ca_file=None, cert=None, key=None, role="client")
    return security(ca_file=base_dir / cfg.tls.ca_file, cert=base_dir / cfg.tls.cert,
                    key=base_dir / cfg.tls.key, role="client")


def connect(cfg: ExecutorConfig, base_dir: Path) -> Client:
    """A Client of the configured scheduler, or a V2SError that says what to check."""
    sec = client_security(cfg, base_dir)
    address = str(cfg.scheduler)
    try:
        return Client(address, security=sec, timeout=cfg.connect_timeout,
                      set_as_default=False)
    except Exception as exc:  # OSError, TimeoutError, CommClosedError, SSL errors ...
        raise _explain(address, exc) from None


def _explain(address: str, exc: BaseException) -> V2SError:
    text = _chain(exc)
    if any(w in text for w in ("CERTIFICATE", "certificate", "[SSL", "handshake")):
        return V2SError(f"TLS with the Dask scheduler {address} failed: {text}",
                        hint="settings.executor.tls.ca_file must be the CA that signed the "
                        "scheduler's certificate, and the scheduler must trust the CA of "
                        "tls.cert")
    return V2SError(f"cannot reach the Dask scheduler {address}: {text}",
                    hint="check settings.executor.scheduler, that the scheduler runs and that "
                    "its port is open from here (and that both sides use TLS)")


def _chain(exc: BaseException) -> str:
    """The messages of an exception and its causes, short."""
    parts: list[str] = []
    seen: BaseException | None = exc
    while seen is not None and len(parts) < 4:
        msg = str(seen).strip() or type(seen).__name__
        if msg not in parts:
            parts.append(msg)
        seen = seen.__cause__ or seen.__context__
    return re.sub(r"in <[^>]*>: ?", "", ": ".join(parts))[:400]
