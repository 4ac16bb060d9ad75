"""``scw_image``: an Instance image whose root and extra volumes are the disks' snapshots."""

from __future__ import annotations

from scaleway.instance.v1 import Image, VolumeTemplate, VolumeVolumeType

from vmware2scw.errors import ProviderError
from vmware2scw.provider import ApplyContext, Attrs

from .adopt import address_tag, create_once, has_tags, object_tags, pick_one, user_tags
from .client import ApiError, ScalewayClient, is_not_found
from .settings import ScalewaySettings
from .wait import wait_for

SETTLED = {"available", "error"}


def list_tagged(api: ScalewayClient, zone: str, tag: str) -> list[Image]:
    """Every private image of the zone carrying ``tag`` (one paginated listing)."""
    items = api.instance.list_images_all(zone=zone, tags=tag, public=False, per_page=100)
    return [i for i in items if tag in i.tags]


def attrs_of(img: Image) -> Attrs:
    """Observed attributes of an image."""
    return {"id": img.id, "state": str(img.state), "name": img.name, "zone": str(img.zone),
            "arch": str(img.arch), "tags": user_tags(img.tags)}


def apply_image(
    api: ScalewayClient, settings: ScalewaySettings, planned: Attrs, ctx: ApplyContext
) -> Attrs:
    """Create (or adopt) the image; wait until it is available."""
    zone = str(planned.get("zone") or api.creds.zone)
    tags = object_tags(ctx.tags, planned.get("tags"))
    extras = [str(s) for s in planned.get("extra_snapshot_ids") or []]

    def find() -> Image | None:
        found = [i for i in list_tagged(api, zone, address_tag(ctx.tags))
                 if has_tags(i.tags, ctx.tags) and str(i.state) != "error"]
        return pick_one(found, "image", ctx.address)

    def create() -> Image:
        extra = {
            str(i + 1): VolumeTemplate(id=sid, name="", size=0,
                                       volume_type=VolumeVolumeType.SBS_SNAPSHOT)
            for i, sid in enumerate(extras)
        }
        res = api.instance.create_image(
            root_volume=str(planned["root_snapshot_id"]), arch=planned.get("arch") or "x86_64",
            zone=zone, name=str(planned.get("name") or ctx.address),
            extra_volumes=extra or None, project=api.project_id, tags=tags,
        )
        assert res.image is not None
        return res.image

    img, adopted = create_once(find, create, what="image",
                               address=ctx.address)
    ctx.checkpoint({"id": img.id, "adopted": adopted})
    img = wait_for(
        lambda: _get(api, zone, img.id),
        lambda i: str(i.state) in SETTLED,
        ctx=ctx, what=f"image {img.id}", timeout=settings.server_timeout,
        interval=settings.poll_interval, phase="image", describe=lambda i: str(i.state),
    )
    if str(img.state) == "error":
        delete_image(api, zone, img.id, ctx.address)
        raise ProviderError(f"image creation from snapshot {planned['root_snapshot_id']} failed",
                            address=ctx.address, hint="check the snapshots are available")
    return {**planned, "id": img.id, "state": str(img.state)}


def _get(api: ScalewayClient, zone: str, image_id: str) -> Image:
    res = api.instance.get_image(zone=zone, image_id=image_id)
    assert res.image is not None
    return res.image


def delete_image(api: ScalewayClient, zone: str, image_id: str, address: str) -> None:
    """Delete the image (its snapshots are separate resources); gone already is fine."""
    try:
        api.instance.delete_image(zone=zone, image_id=image_id)
    except ApiError as exc:
        if not is_not_found(exc):
            raise ProviderError(f"cannot delete image {image_id}: {exc.message}",
                                address=address) from None
