"""``scw_volume`` (an empty Block volume) and ``volume_attachment`` (to the migration host).

The migration host is the Instance this process runs on, found through the instance
metadata service (``V2S_SCW_METADATA_URL``, else ``http://169.254.42.42``); an attached
volume appears at ``<V2S_SCW_DEVICE_DIR or /dev/disk/by-id>/scsi-0SCW_sbs_volume-<uuid>``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from scaleway.block.v1 import CreateVolumeRequestFromEmpty, Volume
from scaleway.instance.v1 import VolumeServerTemplate, VolumeVolumeType

from vmware2scw.errors import ProviderError
from vmware2scw.provider import ApplyContext, Attrs

from .adopt import address_tag, create_once, has_tags, object_tags, pick_one
from .client import ApiError, ScalewayClient, is_not_found
from .settings import ScalewaySettings
from .wait import wait_for

METADATA_URL = "http://169.254.42.42"
DEVICE_DIR = "/dev/disk/by-id"
IOPS = {"sbs_5k": 5000, "sbs_15k": 15000}


@dataclass(frozen=True)
class Host:
    """The migration host: the Instance v2s runs on."""

    server_id: str
    zone: str
    device_dir: Path

    def device_path(self, volume_id: str) -> Path:
        return self.device_dir / f"scsi-0SCW_sbs_volume-{volume_id}"


def migration_host(environ: Mapping[str, str], timeout: float = 0.3) -> Host | None:
    """The Instance this process runs on, from the metadata service; None elsewhere."""
    url = environ.get("V2S_SCW_METADATA_URL", METADATA_URL).rstrip("/")
    try:
        with requests.Session() as http:
            http.trust_env = False  # the service is link-local: never through a proxy
            r = http.get(f"{url}/conf?format=json", timeout=timeout)
        if r.status_code != 200:
            return None
        conf = r.json()
    except (requests.RequestException, ValueError):
        return None
    zone = str(conf.get("zone") or (conf.get("location") or {}).get("zone_id") or "")
    if not conf.get("id") or not zone:
        return None
    return Host(str(conf["id"]), zone, Path(environ.get("V2S_SCW_DEVICE_DIR", DEVICE_DIR)))


def get_volume(api: ScalewayClient, zone: str, vid: str) -> Volume | None:
    """The volume, or None once it is gone."""
    try:
        return api.block.get_volume(volume_id=vid, zone=zone)
    except ApiError as exc:
        if is_not_found(exc):
            return None
        raise


def list_tagged(api: ScalewayClient, zone: str, tag: str) -> list[Volume]:
    """Every Block volume of the zone carrying ``tag``."""
    return [v for v in api.block.list_volumes_all(include_deleted=False, zone=zone, tags=[tag],
                                                  page_size=100) if tag in v.tags]


def attrs_of(vol: Volume) -> Attrs:
    """Observed attributes of a volume (attached or not, it is there)."""
    return {"id": vol.id, "status": "available" if str(vol.status) in {"available", "in_use"}
            else str(vol.status)}


def read_attachment(api: ScalewayClient, recorded: Attrs) -> Attrs | None:
    """The attachment as recorded while its volume is still attached to that server."""
    vid, zone = str(recorded.get("volume_id") or ""), str(recorded.get("zone") or "")
    if not vid or not zone:
        return None
    owner = _attached_to(get_volume(api, zone, vid))
    return dict(recorded) if owner and owner == recorded.get("server_id") else None


def apply_volume(api: ScalewayClient, settings: ScalewaySettings, planned: Attrs,
                 ctx: ApplyContext) -> Attrs:
    """Create (or adopt the tagged) empty volume and wait until it is available."""
    zone = str(planned["zone"])

    def find() -> Volume | None:
        tag = address_tag(ctx.tags)
        found = [v for v in api.block.list_volumes_all(include_deleted=False, zone=zone,
                                                       tags=[tag], page_size=100)
                 if has_tags(v.tags, ctx.tags)]
        return pick_one(found, "volume", ctx.address)

    def create() -> Volume:
        return api.block.create_volume(
            zone=zone, name=str(planned["name"]), project_id=api.project_id,
            perf_iops=IOPS.get(str(planned.get("volume_type")), 5000),
            from_empty=CreateVolumeRequestFromEmpty(size=int(planned["size_bytes"])),
            tags=object_tags(ctx.tags, planned.get("tags")))

    ctx.progress("create", message=f"{int(planned['size_bytes']) // 10**9} GB volume")
    vol, adopted = create_once(find, create, what="Block volume",
                               address=ctx.address)
    ctx.checkpoint({"id": vol.id, "adopted": adopted})
    vol = wait_for(lambda: api.block.get_volume(volume_id=vol.id, zone=zone),
                   lambda v: str(v.status) not in {"creating", "updating"}, ctx=ctx,
                   what=f"volume {vol.id}", timeout=settings.server_timeout,
                   interval=settings.poll_interval, phase="create",
                   describe=lambda v: str(v.status))
    if str(vol.status) not in {"available", "in_use"}:
        raise ProviderError(f"volume {vol.id} is {vol.status}", address=ctx.address)
    return {**planned, "id": vol.id, "status": "available"}


def _attached_to(vol: Volume | None) -> str:
    """The server a volume is attached to ("" when none)."""
    for ref in (vol.references if vol is not None else None) or ():
        if str(ref.product_resource_type) == "instance_server":
            return str(ref.product_resource_id)
    return ""


def attach(api: ScalewayClient, settings: ScalewaySettings, host: Host | None,
           planned: Attrs, ctx: ApplyContext) -> Attrs:
    """Attach the volume to the migration host (idempotent) and wait for its device path."""
    if host is None:
        raise ProviderError("transport block needs v2s to run on a Scaleway Instance (the "
                            "metadata service did not answer)", address=ctx.address,
                            hint="run v2s on an Instance of the target zone, or use "
                            "transport: s3_import")
    zone, vid = str(planned["zone"]), str(planned["volume_id"])
    chosen = str(planned.get("host_server_id") or "")
    if chosen and chosen != host.server_id:
        raise ProviderError(f"the plan attaches to migration host {chosen}, but v2s runs on "
                            f"{host.server_id}", address=ctx.address, hint="plan again here")
    if host.zone != zone:
        raise ProviderError(f"the migration host is in {host.zone}, the volume in {zone}: "
                            "volumes attach only in their own zone", address=ctx.address,
                            hint="run v2s on an Instance of the target zone")
    owner = _attached_to(get_volume(api, zone, vid))
    if owner and owner != host.server_id:
        raise ProviderError(f"volume {vid} is attached to server {owner}, not to this "
                            f"migration host {host.server_id}", address=ctx.address)
    if not owner:
        ctx.checkpoint({"server_id": host.server_id})  # a killed apply still detaches
        ctx.progress("attach", message=f"volume {vid} -> {host.server_id}")
        api.instance.attach_server_volume(server_id=host.server_id, volume_id=vid,
                                          volume_type="sbs_volume", zone=zone)
    path = host.device_path(vid)
    wait_for(path.exists, bool, ctx=ctx, what=f"device {path}",
             timeout=settings.server_timeout, interval=settings.poll_interval, phase="attach")
    return {**planned, "server_id": host.server_id, "device_path": str(path)}


def detach(api: ScalewayClient, settings: ScalewaySettings, zone: str, vid: str,
           ctx: ApplyContext, only_from: str = "") -> None:
    """Detach the volume (from ``only_from`` only, when given) and wait until it is."""
    owner = _attached_to(get_volume(api, zone, vid))
    if not owner or (only_from and owner != only_from):
        return
    ctx.progress("detach", message=f"volume {vid} from {owner}")
    try:
        api.instance.detach_server_volume(server_id=owner, volume_id=vid, zone=zone)
    except ApiError as exc:
        if not is_not_found(exc) and exc.status != 400:  # 400: no longer attached
            raise
    wait_for(lambda: get_volume(api, zone, vid), lambda v: v is None or not _attached_to(v),
             ctx=ctx, what=f"volume {vid} detach", timeout=settings.server_timeout,
             interval=settings.poll_interval, phase="detach")


def boot_volumes(volume_ids: list[Any]) -> dict[str, Any]:
    """The ``volumes`` map of a server made from existing Block volumes (index 0 boots)."""
    return {str(i): VolumeServerTemplate(id=str(v), boot=i == 0,
                                         volume_type=VolumeVolumeType.SBS_VOLUME)
            for i, v in enumerate(volume_ids)}
