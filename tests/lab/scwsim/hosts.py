"""Migration hosts: simulator servers that stand for the machine a v2s process runs on.

Each host has its own instance metadata service on a loopback port: ``GET
/conf?format=json`` answers what ``http://169.254.42.42/conf?format=json`` answers inside
a real Instance (the fields of scaleway-sdk-go's ``instance.Metadata``). Each host also
has a device directory (``/dev/disk/by-id`` on a real Instance) where every Block volume
attached to the server appears as ``scsi-0SCW_sbs_volume-<uuid>`` (docs: SBS volumes are
SCSI disks, vendor ``SCW``, model ``sbs``, serial ``volume-<uuid>``): a symlink to the
volume's raw data file, so writes through it are the volume's content. The link
appears ``Timings.device_attach`` simulated seconds after the attach (udev's delay on a
real host: callers wait for it); detaching removes it. A v2s process finds its host
through ``V2S_SCW_METADATA_URL`` and ``V2S_SCW_DEVICE_DIR`` (``Host.env``).
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from . import disks
from .instance import render_server
from .store import Store

METADATA_ENV = "V2S_SCW_METADATA_URL"  # replaces http://169.254.42.42
DEVICE_DIR_ENV = "V2S_SCW_DEVICE_DIR"  # replaces /dev/disk/by-id
DEVICE_PREFIX = "scsi-0SCW_sbs_volume-"
METADATA_KEYS = (
    "id", "name", "hostname", "organization", "project", "commercial_type", "image",
    "public_ip", "private_ip", "ipv6", "location", "tags", "state_detail", "mac_address",
    "end_of_service", "protected", "security_group", "state", "arch", "allowed_actions",
    "creation_date", "modification_date", "zone", "enable_ipv6", "dynamic_ip_required",
    "placement_group", "private_nics", "filesystems",
)  # fmt: skip


def device_name(volume_id: str) -> str:
    """udev's by-id name of an SBS volume inside an Instance."""
    return f"{DEVICE_PREFIX}{volume_id}"


@dataclass(frozen=True)
class Host:
    """One migration host: its server, metadata URL and device directory."""

    server_id: str
    zone: str
    metadata_url: str
    device_dir: Path

    def device_path(self, volume_id: str) -> Path:
        return self.device_dir / device_name(volume_id)

    @property
    def env(self) -> dict[str, str]:
        """What a v2s process on this host reads instead of 169.254.42.42 and /dev."""
        return {METADATA_ENV: self.metadata_url, DEVICE_DIR_ENV: str(self.device_dir)}


def metadata(store: Store, server_id: str) -> dict[str, Any] | None:
    """The metadata service's JSON for a server (None once the server is gone)."""
    srv = store.servers.get(server_id)
    if srv is None:
        return None
    body = render_server(store, srv)
    meta = {k: body.get(k) for k in METADATA_KEYS}
    ips = body["public_ips"]
    meta["public_ips_v4"] = [ip for ip in ips if ip["family"] == "inet"]
    meta["public_ips_v6"] = [ip for ip in ips if ip["family"] == "inet6"]
    meta["public_ip"] = meta["public_ips_v4"][0] if meta["public_ips_v4"] else None
    meta["ssh_public_keys"], meta["timezone"], meta["bootscript"] = [], "UTC", None
    meta["volumes"] = {}
    for key, vid in srv["volumes"].items():
        vol = store.volumes.get(vid, {})
        meta["volumes"][key] = {
            "id": vid, "name": vol.get("name", ""), "volume_type": "sbs_volume",
            "size": vol.get("size", 0), "state": "available", "export_uri": None,
            "creation_date": vol.get("created_at"), "modification_date": vol.get("updated_at"),
            "organization": srv["organization"], "project": srv["project"],
            "server": {"id": srv["id"], "name": srv["name"]}, "zone": srv["zone"],
        }  # fmt: skip
    return meta


class Hosts:
    """The hosts of one simulator: metadata servers and device directories."""

    def __init__(self, store: Store, root: Path) -> None:
        self.store = store
        self.root = root
        self._hosts: dict[str, Host] = {}
        self._servers: list[ThreadingHTTPServer] = []
        self._pending: set[tuple[str, str]] = set()  # (server, volume): link about to appear
        self._lock = threading.Lock()

    def add(self, server_id: str) -> Host:
        """Make a server a host (idempotent): start its metadata service, link its volumes."""
        with self._lock:
            if server_id in self._hosts:
                return self._hosts[server_id]
            with self.store.lock:
                srv = self.store.servers.get(server_id)
                if srv is None:
                    raise KeyError(f"no server {server_id}")
                zone = srv["zone"]
            device_dir = self.root / server_id / "disk" / "by-id"
            device_dir.mkdir(parents=True, mode=0o700)
            httpd = ThreadingHTTPServer(("127.0.0.1", 0), _MetadataHandler)
            httpd.daemon_threads = True
            httpd.store, httpd.server_id = self.store, server_id  # type: ignore[attr-defined]
            threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05},
                             name="scwsim-metadata", daemon=True).start()  # fmt: skip
            self._servers.append(httpd)
            url = f"http://127.0.0.1:{httpd.server_address[1]}"
            host = self._hosts[server_id] = Host(server_id, zone, url, device_dir)
        self.sync(server_id, immediate=True)  # the volumes it booted with are there already
        return host

    def get(self, server_id: str) -> Host | None:
        return self._hosts.get(server_id)

    def all(self) -> list[Host]:
        return list(self._hosts.values())

    def sync(self, server_id: str, immediate: bool = False) -> None:
        """Make the host's device links match the server's attached volumes."""
        host = self._hosts.get(server_id)
        if host is None:
            return
        with self.store.lock:
            srv = self.store.servers.get(server_id)
            wanted = set(srv["volumes"].values()) if srv is not None else set()
            for link in host.device_dir.iterdir():
                if link.name.removeprefix(DEVICE_PREFIX) not in wanted:
                    link.unlink(missing_ok=True)
            for vid in wanted:
                if (server_id, vid) in self._pending or host.device_path(vid).is_symlink():
                    continue
                delay = 0.0 if immediate else self.store.timings.device_attach
                if delay <= 0:
                    self._link(host, vid)
                else:  # the device shows up a moment after the API call, as udev makes it
                    self._pending.add((server_id, vid))
                    self.store.later(delay, lambda vid=vid: self._link(host, vid))

    def _link(self, host: Host, volume_id: str) -> None:
        """Create the by-id link if the volume is still attached to the host's server."""
        self._pending.discard((host.server_id, volume_id))
        srv = self.store.servers.get(host.server_id)
        if srv is None or volume_id not in srv["volumes"].values():
            return
        target = self._raw_data(volume_id)
        link = host.device_path(volume_id)
        if target is not None and not link.is_symlink():
            os.symlink(target, link)

    def _raw_data(self, volume_id: str) -> Path | None:
        """The volume's data as a raw file (a qcow2 clone is flattened once)."""
        path = self.store.data_path.get(volume_id)
        if path is None or disks.image_format(path) == "raw":
            return path
        dest = path.with_suffix(".raw")
        if not disks.flatten_raw(self.store.qemu_img, path, dest):
            return None
        self.store.data_path[volume_id] = dest
        if path.parent.name == "volumes":
            path.unlink(missing_ok=True)
        return dest

    def close(self) -> None:
        """Stop every metadata service (the device directories go with the data dir)."""
        with self._lock:
            servers, self._servers = self._servers, []
        for httpd in servers:
            httpd.shutdown()
            httpd.server_close()


class _MetadataHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        fmt = parse_qs(url.query).get("format", [""])[0]
        status, body = 404, {"type": "not_found", "message": "only /conf?format=json is served"}
        if url.path.rstrip("/") == "/conf" and fmt == "json":
            store: Store = self.server.store  # type: ignore[attr-defined]
            with store.lock:
                meta = metadata(store, self.server.server_id)  # type: ignore[attr-defined]
            if meta is not None:
                status, body = 200, meta
            else:
                body = {"type": "not_found", "message": "the server of this host is gone"}
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        with contextlib.suppress(OSError):
            self.wfile.write(data)
