"""``scw_snapshot``: a Block Storage snapshot imported from the uploaded qcow2."""

from __future__ import annotations

import math
from typing import Any

from scaleway.block.v1 import Snapshot

from vmware2scw.errors import ProviderError
from vmware2scw.provider import ApplyContext, Attrs

from .adopt import address_tag, create_once, has_tags, object_tags, pick_one, user_tags
from .client import ApiError, ScalewayClient, is_not_found
from .settings import ScalewaySettings
from .wait import wait_for

GiB = 1024**3
GB = 1000**3
SETTLED = {"available", "in_use", "error"}
IMPORT_HINT = ("the object must be a qcow2 without backing file, encryption or zstd, "
               "1 GB to 1 TB, in a bucket of the zone's region")


def import_size(size_bytes: int | None) -> int | None:
    """The snapshot size to request: at least 1 GB, rounded up to whole GB."""
    if not size_bytes:
        return None
    return max(GB, math.ceil(size_bytes / GB) * GB)


def timeout_for(settings: ScalewaySettings, size: int | None) -> float:
    """Import deadline scaled to the size (base + per GiB)."""
    gib = (size or 0) / GiB
    return settings.snapshot_timeout_base + settings.snapshot_timeout_per_gib * gib


def list_tagged(api: ScalewayClient, zone: str, tag: str) -> list[Snapshot]:
    """Every snapshot of the zone carrying ``tag`` (one paginated listing)."""
    items = api.block.list_snapshots_all(include_deleted=False, zone=zone, tags=[tag],
                                         page_size=100)
    return [s for s in items if tag in s.tags]


# A snapshot referenced by an image is `in_use`: as usable as `available`, not drift.
USABLE = frozenset({"available", "in_use"})


def attrs_of(snap: Snapshot) -> Attrs:
    """Observed attributes of a snapshot (`in_use` reads as `available`)."""
    status = str(snap.status)
    return {"id": snap.id, "status": "available" if status in USABLE else status,
            "size": snap.size, "name": snap.name, "zone": str(snap.zone),
            "tags": user_tags(snap.tags)}


def _about(exc: ApiError, argument: str) -> bool:
    """True when a 400's details name ``argument``."""
    body = exc.body if isinstance(exc.body, dict) else {}
    details = body.get("details") or []
    return exc.status == 400 and any(
        isinstance(d, dict) and d.get("argument_name") == argument for d in details)


def _error_reason(api: ScalewayClient, zone: str, snap_id: str) -> str:
    """Whatever the API says about a failed import (fields vary; raw JSON is read)."""
    res = api.block._request("GET", f"/block/v1/zones/{zone}/snapshots/{snap_id}")
    try:
        body: dict[str, Any] = res.json()
    except ValueError:
        return "no reason given"
    parts = [f"{k}: {v}" for k, v in sorted(body.items())
             if v and any(w in k for w in ("error", "reason", "detail", "message"))]
    return "; ".join(parts) or "no reason given"


def apply_snapshot(
    api: ScalewayClient, settings: ScalewaySettings, planned: Attrs, ctx: ApplyContext,
    checkpoint: Attrs | None,
) -> Attrs:
    """Import (or adopt) the snapshot and wait until it is available."""
    zone = str(planned.get("zone") or api.creds.zone)
    tags = object_tags(ctx.tags, planned.get("tags"))
    size = import_size(planned.get("size_bytes"))

    def _import(wanted: int | None) -> Snapshot:
        return api.block.import_snapshot_from_object_storage(
            bucket=str(planned["bucket"]), key=str(planned["key"]),
            name=str(planned.get("name") or ctx.address), zone=zone,
            project_id=api.project_id, tags=tags, size=wanted,
        )

    def find() -> Snapshot | None:
        found = [s for s in list_tagged(api, zone, address_tag(ctx.tags))
                 if has_tags(s.tags, ctx.tags)]
        found = [s for s in found if str(s.status) != "error"] or found
        return pick_one(found, "snapshot", ctx.address)

    def create() -> Snapshot:
        try:
            try:
                return _import(size)
            except ApiError as exc:
                if size is None or not _about(exc, "size"):
                    raise
                # the image grew during conversion (e.g. an ESP was added): let the API
                # take the qcow2's virtual size
                return _import(None)
        except ApiError as exc:
            raise ProviderError(
                f"snapshot import from s3://{planned['bucket']}/{planned['key']} refused: "
                f"{exc.message}", address=ctx.address, hint=IMPORT_HINT,
            ) from None

    ctx.progress("import", message=f"s3://{planned.get('bucket')}/{planned.get('key')}")
    snap, adopted = create_once(find, create, what="Block snapshot",
                                address=ctx.address)
    ctx.checkpoint({"id": snap.id, "adopted": adopted})
    snap = wait_for(
        lambda: api.block.get_snapshot(snapshot_id=snap.id, zone=zone),
        lambda s: str(s.status) in SETTLED,
        ctx=ctx, what=f"snapshot {snap.id}", timeout=timeout_for(settings, size or snap.size),
        interval=settings.poll_interval, phase="import", describe=lambda s: str(s.status),
    )
    if str(snap.status) == "error":
        reason = _error_reason(api, zone, snap.id)
        delete_snapshot(api, zone, snap.id, ctx.address)
        raise ProviderError(
            f"snapshot import from s3://{planned['bucket']}/{planned['key']} failed: {reason}",
            address=ctx.address,
            hint=IMPORT_HINT + "; the failed snapshot was deleted",
        )
    return {**planned, "id": snap.id, "status": str(snap.status), "size": snap.size}


def delete_snapshot(api: ScalewayClient, zone: str, snap_id: str, address: str) -> None:
    """Delete; a snapshot already gone is fine; one still in use is a clear error."""
    try:
        api.block.delete_snapshot(snapshot_id=snap_id, zone=zone)
    except ApiError as exc:
        if is_not_found(exc):
            return
        raise ProviderError(f"cannot delete snapshot {snap_id}: {exc.message}", address=address,
                            hint="delete the image (or volume) that uses it first") from None
