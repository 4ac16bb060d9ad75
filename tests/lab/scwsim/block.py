"""Block Storage API (v1 and v1alpha1): snapshots, import from Object Storage, volumes.

Shapes and status sequences follow block-*.json in the recordings: answers are 200
(not 201), deletes are 204 then an immediate 404, lists carry ``total_count`` in
the body and no paging headers.
"""

from __future__ import annotations

import contextlib
from typing import Any

from . import disks, importer
from .errors import invalid_argument, not_found, permissions_denied, precondition_failed
from .errors import transient_state as transient
from .store import PUBLIC_ORG, Store, int_param, page_of
from .wire import Reply, Request, Router

PREFIXES = ("/block/v1", "/block/v1alpha1")
IOPS_TYPES = {5000: "sbs_5k", 15000: "sbs_15k"}
GB = 1_000_000_000
# Block API reference (CreateVolumeRequestFromEmpty.size): "Must be compliant with the
# minimum (1 GB) and maximum (10 TB) allowed size." Whole GB: the console and Terraform
# only offer GB steps; the simulator refuses other sizes so callers round up.
MIN_VOLUME_SIZE = GB
MAX_VOLUME_SIZE = 10_000 * GB


def check_volume_size(argument: str, size: Any) -> int:
    """400 unless ``size`` is a whole number of GB between 1 GB and 10 TB."""
    if not isinstance(size, int) or isinstance(size, bool):
        raise invalid_argument(argument, "must be an integer (bytes)")
    if not MIN_VOLUME_SIZE <= size <= MAX_VOLUME_SIZE:
        raise invalid_argument(
            argument, f"size must be between {MIN_VOLUME_SIZE} and {MAX_VOLUME_SIZE} bytes"
        )
    if size % GB:
        raise invalid_argument(argument, f"size must be a multiple of {GB} bytes (1 GB)")
    return size


def _reply(req: Request, body: Any, status: int = 200) -> Reply:
    if isinstance(body, dict) and req.path.startswith("/block/v1alpha1/"):
        body.pop("public", None)  # v1alpha1 snapshots have no "public",
        body.pop("kms_key_id", None)  # and its volumes no "kms_key_id"
    return Reply(status, body, api="block")


# -- snapshots --------------------------------------------------------------------
def render_snapshot(store: Store, snap: dict[str, Any]) -> dict[str, Any]:
    body = store.view(snap)
    parent = body.get("parent_volume")
    if parent is not None and parent["id"] in store.volumes:
        parent["status"] = store.volumes[parent["id"]]["status"]
    return body


def get_snapshot(store: Store, zone: str, snapshot_id: str, action: str = "read") -> dict[str, Any]:
    snap = store.snapshots.get(snapshot_id)
    if snap is None or snap["zone"] != zone:
        raise not_found("block", "snapshot", snapshot_id)
    if store.owner.get(snapshot_id) not in (None, store.account.organization_id):
        raise permissions_denied(action, "snapshot")
    return snap


def new_snapshot(
    store: Store, zone: str, name: str, size: int, project: str, tags: list[str],
    parent: dict[str, Any] | None,
) -> dict[str, Any]:  # fmt: skip
    store.check_quota("snapshots")
    now = store.clock.block_ts()
    snap: dict[str, Any] = {
        "id": store.new_id(), "name": name, "parent_volume": parent, "size": size,
        "project_id": project, "created_at": now, "updated_at": now, "references": [],
        "status": "creating", "tags": list(tags), "class": "sbs", "zone": zone, "public": False,
    }  # fmt: skip
    store.snapshots[snap["id"]] = snap
    return snap


def set_status(store: Store, body: dict[str, Any], status: str) -> None:
    body["status"] = status
    body["updated_at"] = store.clock.block_ts()


def refresh_snapshot_status(store: Store, snap: dict[str, Any]) -> None:
    """in_use while an image links it, available otherwise (after creation)."""
    if snap["status"] in ("available", "in_use"):
        set_status(store, snap, "in_use" if snap["references"] else "available")


def import_snapshot(store: Store, req: Request) -> Reply:
    """Check the object (S3 and qemu-img outside the store lock), then start the import."""
    zone = req.params["zone"]
    region = store.region_of(zone)
    bucket, key, name = req.field("bucket"), req.field("key"), req.field("name")
    for arg, value in (("bucket", bucket), ("key", key), ("name", name)):
        if not isinstance(value, str) or not value:
            raise invalid_argument(arg, "required")
    size = req.field("size")
    if size is not None and not isinstance(size, int):
        raise invalid_argument("size", "must be an integer")
    importer.check_key(key)
    if store.objects is None:
        raise invalid_argument("bucket", "the simulator has no Object Storage configured")
    object_size = store.objects.object_size(region, bucket, key)
    data_dir = store.data_dir / "snapshots"
    data_dir.mkdir(exist_ok=True, mode=0o700)
    head = data_dir / f"head-{store.new_id()}.img"
    try:
        store.objects.fetch_head(region, bucket, key, object_size, head)
        info = importer.qemu_info(head, store.qemu_img)
    finally:
        head.unlink(missing_ok=True)
    snap_size = importer.check_image(info, size)
    project = req.field("project_id") or store.account.project_id
    with store.lock:
        snap = new_snapshot(store, zone, name, snap_size, project, req.field("tags") or [], None)
        return _start_import(store, req, snap, region, bucket, key, int(info["virtual-size"]))


def _start_import(
    store: Store, req: Request, snap: dict[str, Any], region: str, bucket: str, key: str,
    virtual_size: int,
) -> Reply:  # fmt: skip
    """Download and check in a worker; the timer then decides available or error."""
    sid = snap["id"]
    path = store.data_dir / "snapshots" / f"{sid}.qcow2"

    def work() -> None:
        ok = False
        try:
            store.objects.download(region, bucket, key, path)
            ok = importer.qemu_check(path, store.qemu_img)
        except Exception:  # any S3 or qemu failure ends in status "error"
            ok = False
        with store.lock:
            store.import_ok[sid] = ok
            if ok:
                store.data_path[sid] = path

    def finish() -> None:
        if sid not in store.snapshots or store.snapshots[sid]["status"] != "creating":
            return
        if sid not in store.import_ok:  # the download is slower than the clock
            store.later(0.5, finish)
            return
        set_status(store, store.snapshots[sid], "available" if store.import_ok[sid] else "error")

    virtual_gib = virtual_size / 2**30
    store.later(store.timings.import_base + store.timings.import_per_gib * virtual_gib, finish)
    store.spawn(work)
    return _reply(req, render_snapshot(store, snap))


def create_snapshot(store: Store, req: Request) -> Reply:
    zone = req.params["zone"]
    vol = get_volume(store, zone, str(req.field("volume_id", "")))
    if vol["status"] not in ("available", "in_use"):
        raise transient("volume", vol["id"], vol["status"])
    parent = {"id": vol["id"], "name": vol["name"], "type": vol["type"], "status": vol["status"]}
    project = req.field("project_id") or store.account.project_id
    snap = new_snapshot(
        store, zone, req.field("name") or "snp", vol["size"], project, req.field("tags") or [],
        parent,
    )  # fmt: skip
    snap["public"] = bool(req.field("public", False))
    sid = snap["id"]
    if vol["id"] in store.data_path:  # the volume's bytes at this instant
        src = store.data_path[vol["id"]]
        dest = store.data_dir / "snapshots" / f"{sid}.{disks.image_format(src)}"
        if disks.copy(src, dest):
            store.data_path[sid] = dest

    def finish() -> None:
        if sid in store.snapshots and store.snapshots[sid]["status"] == "creating":
            set_status(store, store.snapshots[sid], "available")

    store.later(store.timings.snapshot_create, finish)
    return _reply(req, render_snapshot(store, snap))


def show_snapshot(store: Store, req: Request) -> Reply:
    snap = get_snapshot(store, req.params["zone"], req.params["id"])
    return _reply(req, render_snapshot(store, snap))


def delete_snapshot(store: Store, req: Request) -> Reply:
    snap = get_snapshot(store, req.params["zone"], req.params["id"], "delete")
    if snap["status"] == "in_use":
        raise precondition_failed("resource_still_in_use", "the snapshot is used by an image")
    if snap["status"] == "creating":
        raise transient("snapshot", snap["id"], "creating")
    del store.snapshots[snap["id"]]
    # The data file stays: volumes cloned from it use it as their backing file;
    # the whole data directory goes when the simulator stops.
    store.data_path.pop(snap["id"], None)
    return Reply(204, None, api="block")


def update_snapshot(store: Store, req: Request) -> Reply:
    snap = get_snapshot(store, req.params["zone"], req.params["id"], "write")
    if req.field("name") is not None:
        snap["name"] = req.field("name")
    if req.field("tags") is not None:
        snap["tags"] = list(req.field("tags"))
    snap["updated_at"] = store.clock.block_ts()
    return _reply(req, render_snapshot(store, snap))


def _listing(store: Store, req: Request, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    zone = req.params["zone"]
    items = [i for i in items if i["zone"] == zone and store.owner.get(i["id"]) != PUBLIC_ORG]
    project = req.q("project_id")
    if project:
        items = [i for i in items if i["project_id"] == project]
    name = req.q("name")
    if name:
        items = [i for i in items if name in i["name"]]
    tags = req.query.get("tags", [])
    if tags:  # Block: one or more matching tags
        items = [i for i in items if set(tags) & set(i["tags"])]
    order = req.q("order_by", "created_at_asc") or "created_at_asc"
    if order.startswith("name"):
        items = sorted(items, key=lambda i: i["name"])
    if order.endswith("_desc"):
        items = list(reversed(items))
    return items


def list_snapshots(store: Store, req: Request) -> Reply:
    items = _listing(store, req, list(store.snapshots.values()))
    volume_id = req.q("volume_id")
    if volume_id:
        items = [i for i in items if (i["parent_volume"] or {}).get("id") == volume_id]
    page = int_param(req.query, "page", 1, 10**6)
    size = int_param(req.query, "page_size", 50, 100)
    shown = [_reply(req, render_snapshot(store, s)).body for s in page_of(items, page, size)]
    return Reply(200, {"snapshots": shown, "total_count": len(items)}, api="block")


# -- volumes ----------------------------------------------------------------------
def get_volume(store: Store, zone: str, volume_id: str) -> dict[str, Any]:
    vol = store.volumes.get(volume_id)
    if vol is None or vol["zone"] != zone:
        raise not_found("block", "volume", volume_id)
    return vol


def new_volume(
    store: Store, zone: str, name: str, size: int, iops: int, project: str, tags: list[str],
    parent_snapshot: str | None, status: str = "creating",
) -> dict[str, Any]:  # fmt: skip
    if iops not in IOPS_TYPES:
        raise invalid_argument("perf_iops", "must be 5000 or 15000")
    store.check_quota("volumes")
    now = store.clock.block_ts()
    vol: dict[str, Any] = {
        "id": store.new_id(), "name": name, "type": IOPS_TYPES[iops], "size": size,
        "project_id": project, "created_at": now, "updated_at": now, "references": [],
        "parent_snapshot_id": parent_snapshot, "status": status, "tags": list(tags),
        "specs": {"perf_iops": iops, "class": "sbs"}, "last_detached_at": None,
        "kms_key_id": None, "zone": zone,
    }  # fmt: skip
    store.volumes[vol["id"]] = vol
    volumes_dir = store.data_dir / "volumes"
    if parent_snapshot is None:  # an empty volume: zeros, written later through a host
        store.data_path[vol["id"]] = disks.empty(volumes_dir / f"{vol['id']}.raw", size)
    elif parent_snapshot in store.data_path:  # its own copy-on-write over the snapshot
        dest = volumes_dir / f"{vol['id']}.qcow2"
        if disks.clone(store.qemu_img, store.data_path[parent_snapshot], dest, size):
            store.data_path[vol["id"]] = dest
    return vol


def volume_from_snapshot(
    store: Store, zone: str, snapshot_id: str, size: int | None, name: str, iops: int,
    project: str, tags: list[str], status: str = "creating", explicit_size: bool = False,
) -> dict[str, Any]:  # fmt: skip
    snap = get_snapshot(store, zone, snapshot_id) if store.owner.get(snapshot_id) != PUBLIC_ORG \
        else store.snapshots[snapshot_id]  # fmt: skip
    if snap["status"] not in ("available", "in_use"):
        raise transient("snapshot", snapshot_id, snap["status"])
    if size is not None and size < snap["size"]:
        raise invalid_argument("size", f"size must be at least the snapshot size ({snap['size']})")
    if size is not None and explicit_size:
        check_volume_size("size", size)
    return new_volume(
        store, zone, name, size or snap["size"], iops, project, tags, snapshot_id, status
    )


def create_volume(store: Store, req: Request) -> Reply:
    zone = req.params["zone"]
    store.region_of(zone)
    name = req.field("name") or "vol"
    iops = int(req.field("perf_iops") or 5000)
    project = req.field("project_id") or store.account.project_id
    tags = req.field("tags") or []
    empty, from_snap = req.field("from_empty"), req.field("from_snapshot")
    if bool(empty) == bool(from_snap):
        raise invalid_argument("from_empty", "exactly one of from_empty, from_snapshot is required")
    if empty:
        size = check_volume_size("from_empty.size", empty.get("size"))
        vol = new_volume(store, zone, name, size, iops, project, tags, None)
    else:
        vol = volume_from_snapshot(
            store, zone, str(from_snap.get("snapshot_id")), from_snap.get("size") or None, name,
            iops, project, tags, explicit_size=True,
        )  # fmt: skip
    vid = vol["id"]

    def finish() -> None:
        if vid in store.volumes and store.volumes[vid]["status"] == "creating":
            set_status(store, store.volumes[vid], "available")

    store.later(store.timings.volume_create, finish)
    return _reply(req, store.view(vol))


def show_volume(store: Store, req: Request) -> Reply:
    return _reply(req, store.view(get_volume(store, req.params["zone"], req.params["id"])))


def delete_volume(store: Store, req: Request) -> Reply:
    vol = get_volume(store, req.params["zone"], req.params["id"])
    if vol["status"] == "in_use":
        raise precondition_failed("resource_still_in_use", "the volume is attached to a server")
    if vol["status"] == "creating":
        raise transient("volume", vol["id"], "creating")
    del store.volumes[vol["id"]]
    path = store.data_path.pop(vol["id"], None)
    if path is not None and path.parent.name == "volumes":
        with contextlib.suppress(OSError):
            path.unlink()
    return Reply(204, None, api="block")


def update_volume(store: Store, req: Request) -> Reply:
    vol = get_volume(store, req.params["zone"], req.params["id"])
    iops, size = req.field("perf_iops"), req.field("size")
    if (iops is not None or size is not None) and vol["status"] not in ("available", "in_use"):
        raise transient("volume", vol["id"], vol["status"])
    if req.field("name") is not None:
        vol["name"] = req.field("name")
    if req.field("tags") is not None:
        vol["tags"] = list(req.field("tags"))
    if iops is not None:
        if iops not in IOPS_TYPES:
            raise invalid_argument("perf_iops", "must be 5000 or 15000")
        vol["type"], vol["specs"]["perf_iops"] = IOPS_TYPES[iops], iops
    if size is not None:
        if not isinstance(size, int) or size < vol["size"]:
            raise invalid_argument("size", "a volume can only grow")
        vol["size"] = check_volume_size("size", size)
        path = store.data_path.get(vol["id"])
        if path is not None and path.parent.name == "volumes":
            disks.grow(store.qemu_img, path, size)
    vol["updated_at"] = store.clock.block_ts()
    if iops is not None or size is not None:  # recorded status while a change applies
        set_status(store, vol, "updating")
        vid = vol["id"]

        def done() -> None:
            cur = store.volumes.get(vid)
            if cur is not None and cur["status"] == "updating":
                set_status(store, cur, "in_use" if cur["references"] else "available")

        store.later(store.timings.volume_update, done)
    return _reply(req, store.view(vol))


def list_volumes(store: Store, req: Request) -> Reply:
    items = _listing(store, req, list(store.volumes.values()))
    product = req.q("product_resource_id")
    if product:
        items = [
            v for v in items
            if any(r["product_resource_id"] == product for r in v["references"])
        ]  # fmt: skip
    vtype = req.q("volume_type")
    if vtype:
        items = [v for v in items if v["type"] == vtype]
    ids = req.query.get("volume_ids", [])
    if ids:
        items = [v for v in items if v["id"] in ids]
    page = int_param(req.query, "page", 1, 10**6)
    size = int_param(req.query, "page_size", 50, 100)
    shown = [_reply(req, store.view(v)).body for v in page_of(items, page, size)]
    return Reply(200, {"volumes": shown, "total_count": len(items)}, api="block")


def register(router: Router) -> None:
    for p in PREFIXES:
        z = p + "/zones/<zone>"
        imports = z + "/snapshots/import-from-object-storage"
        router.add("POST", imports, import_snapshot, "block", locked=False)
        router.add("GET", z + "/snapshots", list_snapshots, "block")
        router.add("POST", z + "/snapshots", create_snapshot, "block")
        router.add("GET", z + "/snapshots/<id>", show_snapshot, "block")
        router.add("PATCH", z + "/snapshots/<id>", update_snapshot, "block")
        router.add("DELETE", z + "/snapshots/<id>", delete_snapshot, "block")
        router.add("GET", z + "/volumes", list_volumes, "block")
        router.add("POST", z + "/volumes", create_volume, "block")
        router.add("GET", z + "/volumes/<id>", show_volume, "block")
        router.add("PATCH", z + "/volumes/<id>", update_volume, "block")
        router.add("DELETE", z + "/volumes/<id>", delete_volume, "block")
