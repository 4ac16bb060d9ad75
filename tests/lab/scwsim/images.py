"""Instance API images: marketplace seeds and images made from Block snapshots.

As in instance-*-image.json: 201 with a Location header, ``available`` at once,
``root_volume`` echoed as an ``sbs_snapshot``; the image links its snapshots
(``in_use``) until it is deleted.
"""

from __future__ import annotations

from typing import Any

from . import block
from .catalogue import MARKETPLACE
from .errors import invalid_argument, not_found, permissions_denied
from .store import PUBLIC_ORG, Store, instance_page
from .wire import Reply, Request, Router, instance_filter

P = "/instance/v1/zones/<zone>"


def location(req: Request, kind: str, rid: str) -> dict[str, str]:
    return {"Location": f"/instance/v1/zones/{req.params['zone']}/{kind}/{rid}"}


# -- marketplace --------------------------------------------------------------------
def seed_marketplace(store: Store, zone: str = "fr-par-1") -> None:
    """Public images (owned by Scaleway's public organisation) with SBS root snapshots."""
    for image_id, name, snap_id, size, created in MARKETPLACE:
        ts = created.replace("+00:00", "Z")
        store.snapshots[snap_id] = {
            "id": snap_id, "name": f"{name} root", "parent_volume": None, "size": size,
            "project_id": PUBLIC_ORG, "created_at": ts, "updated_at": ts, "references": [],
            "status": "available", "tags": [], "class": "sbs", "zone": zone, "public": True,
        }  # fmt: skip
        store.owner[snap_id] = PUBLIC_ORG
        store.images[image_id] = {
            "id": image_id, "name": name, "organization": PUBLIC_ORG, "project": PUBLIC_ORG,
            "root_volume": {"volume_type": "sbs_snapshot", "id": snap_id, "size": 0, "name": ""},
            "extra_volumes": {}, "public": True, "arch": "x86_64", "creation_date": created,
            "modification_date": created, "default_bootscript": None, "from_server": "",
            "state": "available", "tags": [], "zone": zone,
        }  # fmt: skip
        store.owner[image_id] = PUBLIC_ORG


# -- images -----------------------------------------------------------------------
def get_image(store: Store, zone: str, image_id: str) -> dict[str, Any]:
    img = store.images.get(image_id)
    if img is None or img["zone"] != zone:
        raise not_found("instance", "instance_image", image_id)
    return img


def _link(store: Store, snap: dict[str, Any], image_id: str) -> None:
    snap["references"].append({
        "id": store.new_id(), "product_resource_type": "instance_image",
        "product_resource_id": image_id, "created_at": store.clock.block_ts(),
        "type": "link", "status": "attached",
    })  # fmt: skip
    block.refresh_snapshot_status(store, snap)


def _usable_snapshot(store: Store, zone: str, snapshot_id: Any, arg: str) -> dict[str, Any]:
    if not isinstance(snapshot_id, str) or not snapshot_id:
        raise invalid_argument(arg, "a Block snapshot id is required")
    snap = block.get_snapshot(store, zone, snapshot_id)
    if snap["status"] not in ("available", "in_use"):
        raise invalid_argument(arg, f"snapshot {snapshot_id} is {snap['status']}, not available")
    return snap


def create_image(store: Store, req: Request) -> Reply:
    zone = req.params["zone"]
    store.region_of(zone)
    store.check_quota("images")
    arch = req.field("arch")
    if arch not in ("x86_64", "arm64"):
        raise invalid_argument("arch", "must be x86_64 or arm64")
    root = _usable_snapshot(store, zone, req.field("root_volume"), "root_volume")
    extras_in = req.field("extra_volumes") or {}
    extras = {}
    for key, tpl in sorted(extras_in.items()):
        snap = _usable_snapshot(store, zone, (tpl or {}).get("id"), f"extra_volumes.{key}")
        extras[key] = snap
    now = store.clock.instance_ts()
    project = req.field("project") or req.field("organization") or store.account.project_id
    img: dict[str, Any] = {
        "id": store.new_id(), "name": req.field("name") or "image", "organization": project,
        "project": project,
        "root_volume": {"volume_type": "sbs_snapshot", "id": root["id"], "size": 0, "name": ""},
        "extra_volumes": {
            k: {"volume_type": "sbs_snapshot", "id": s["id"], "size": 0, "name": ""}
            for k, s in extras.items()
        },
        "public": bool(req.field("public", False)), "arch": arch, "creation_date": now,
        "modification_date": now, "default_bootscript": None, "from_server": "",
        "state": "available", "tags": list(req.field("tags") or []), "zone": zone,
    }  # fmt: skip
    store.images[img["id"]] = img
    for snap in (root, *extras.values()):
        _link(store, snap, img["id"])
    return Reply(201, {"image": store.view(img)}, location(req, "images", img["id"]))


def show_image(store: Store, req: Request) -> Reply:
    return Reply(200, {"image": store.view(get_image(store, req.params["zone"], req.params["id"]))})


def update_image(store: Store, req: Request) -> Reply:
    img = get_image(store, req.params["zone"], req.params["id"])
    if store.owner.get(img["id"]) == PUBLIC_ORG:
        raise permissions_denied("write", "instance_image")
    for name in ("name", "arch", "public"):
        if req.field(name) is not None:
            img[name] = req.field(name)
    if req.field("tags") is not None:
        img["tags"] = list(req.field("tags"))
    img["modification_date"] = store.clock.instance_ts()
    return Reply(200, {"image": store.view(img)})


def delete_image(store: Store, req: Request) -> Reply:
    img = get_image(store, req.params["zone"], req.params["id"])
    if store.owner.get(img["id"]) == PUBLIC_ORG:
        raise permissions_denied("delete", "instance_image")
    del store.images[img["id"]]
    for vol in (img["root_volume"], *img["extra_volumes"].values()):
        snap = store.snapshots.get(vol["id"])
        if snap is not None:
            snap["references"] = [
                r for r in snap["references"] if r["product_resource_id"] != img["id"]
            ]
            block.refresh_snapshot_status(store, snap)
    return Reply(204)


def list_images(store: Store, req: Request) -> Reply:
    items = instance_filter(req, list(store.images.values()), ("project", "organization", "arch"))
    public = req.q("public")
    if public is not None:
        items = [i for i in items if i["public"] == (public.lower() == "true")]
    page, headers = instance_page(req.query, items, "/images")
    return Reply(200, {"images": [store.view(i) for i in page]}, headers)


def register(router: Router) -> None:
    router.add("GET", P + "/images", list_images, "instance")
    router.add("POST", P + "/images", create_image, "instance")
    router.add("GET", P + "/images/<id>", show_image, "instance")
    router.add("PATCH", P + "/images/<id>", update_image, "instance")
    router.add("DELETE", P + "/images/<id>", delete_image, "instance")
