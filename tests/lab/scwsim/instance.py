"""Instance API servers: create, read, list, update, delete, actions and state sequences.

Shapes follow instance-*.json in the recordings: creates answer 201 with a
Location header, a new server is ``stopped``, actions answer 202 with the
all-zero "fake task", SBS volumes inside a server are minimal objects, and
terminate/DELETE leave SBS volumes behind (detached, ``available``). Block volumes
hot-plug with ``attach-volume`` / ``detach-volume`` (or a PATCH of ``volumes``), at most
16 per server including the boot volume (Block Storage FAQ), same zone only.
"""

from __future__ import annotations

import re
from typing import Any

from . import block, ipam, ips
from .catalogue import server_types
from .errors import (
    invalid_argument,
    invalid_request,
    not_found,
    out_of_stock,
    transient_state,
)
from .images import get_image, location
from .store import Store, instance_page
from .wire import Reply, Request, Router, instance_filter

P = "/instance/v1/zones/<zone>"
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
ALLOWED = {
    "stopped": ["poweron", "backup"],
    "running": ["poweroff", "terminate", "reboot", "stop_in_place", "backup"],
    "starting": ["stop_in_place", "backup"],
    "stopping": ["stop_in_place", "backup"],
    "stopped in place": ["poweron", "terminate", "backup"],
}
ZERO_TASK = "00000000-0000-0000-0000-000000000000"
# Block Storage FAQ: "A virtual Instance can bear up to 16 volumes, including the
# mandatory local volume"; "How to attach a Block Storage volume": "up to 15 volumes".
MAX_SERVER_VOLUMES = 16
HOTPLUG_STATES = ("running", "stopped", "stopped in place")


# -- servers ----------------------------------------------------------------------
def get_server(store: Store, zone: str, server_id: str) -> dict[str, Any]:
    srv = store.servers.get(server_id)
    if srv is None or srv["zone"] != zone:
        raise not_found("instance", "instance_server", server_id)
    return srv


def render_server(store: Store, srv: dict[str, Any]) -> dict[str, Any]:
    body = store.view(srv)
    image_id = body["image"]
    body["image"] = store.view(store.images[image_id]) if image_id in store.images else None
    body["volumes"] = {
        k: {"boot": False, "volume_type": "sbs_volume", "id": vid, "state": "available",
            "zone": body["zone"]}
        for k, vid in srv["volumes"].items()
    }  # fmt: skip
    body["private_nics"] = [store.view(store.nics[n]) for n in srv["private_nics"]]
    body["public_ips"] = [ips.server_view(store.ips[i]) for i in srv["public_ips"]]
    body["public_ip"] = body["public_ips"][0] if body["public_ips"] else None
    return body


def _attach(
    store: Store, vol: dict[str, Any], server_id: str, created_at: str | None = None
) -> None:
    vol["references"] = [{
        "id": store.new_id(), "product_resource_type": "instance_server",
        "product_resource_id": server_id, "created_at": created_at or vol["created_at"],
        "type": "exclusive", "status": "attached",
    }]  # fmt: skip
    block.set_status(store, vol, "in_use")


def _detach(store: Store, vid: str) -> None:
    vol = store.volumes.get(vid)
    if vol is not None:
        now = store.clock.block_ts()
        vol.update(references=[], status="available", updated_at=now, last_detached_at=now)


def _detach_all(store: Store, srv: dict[str, Any]) -> None:
    for vid in srv["volumes"].values():
        _detach(store, vid)
    for nic_id in srv["private_nics"]:
        nic = store.nics.pop(nic_id, None)
        if nic is not None:
            ipam.release(store, nic)
    ips.release(store, srv["public_ips"])


def _server_volumes(
    store: Store, req: Request, zone: str, name: str, image: dict[str, Any] | None
) -> dict[str, dict[str, Any]]:
    """Create or check the Block volumes of a new server; keys "0", "1", ..."""
    templates: dict[str, Any] = dict(req.field("volumes") or {})
    project = req.field("project") or store.account.project_id
    if image is not None:
        templates.setdefault("0", {})
        for k, extra in image["extra_volumes"].items():
            templates.setdefault(k, {"base_snapshot": extra["id"]})
    if "0" not in templates:
        raise invalid_argument("volumes", "an image or a root volume is required")
    _check_count(len(templates))
    for key, tpl in templates.items():
        if not key.isdigit() or not isinstance(tpl, dict):
            raise invalid_argument(f"volumes.{key}", 'volume keys are indexes ("0", "1"...)')
        vtype = tpl.get("volume_type", "sbs_volume")
        if vtype != "sbs_volume":
            raise invalid_argument(
                f"volumes.{key}.volume_type", f"{vtype} is not simulated: use sbs_volume"
            )
        if tpl.get("id"):  # an existing volume: of this zone, attached nowhere
            _attachable(store, zone, tpl["id"], "", f"volumes.{key}.id")
    store.check_quota("volumes", sum(1 for t in templates.values() if not t.get("id")))
    made: dict[str, dict[str, Any]] = {}
    for key in sorted(templates, key=int):
        tpl = templates[key]
        vname = tpl.get("name") or f"{image['name'] if image else name}_sbs_volume_{key}"
        if tpl.get("id"):
            made[key] = store.volumes[tpl["id"]]
            continue
        snapshot_id = tpl.get("base_snapshot")
        if snapshot_id is None and key == "0" and image is not None:
            snapshot_id = image["root_volume"]["id"]
        if snapshot_id is not None:
            made[key] = block.volume_from_snapshot(
                store, zone, snapshot_id, tpl.get("size"), vname, 5000, project, [], "in_use"
            )
        else:
            size = tpl.get("size")
            if not isinstance(size, int) or size < 1_000_000_000:
                raise invalid_argument(f"volumes.{key}.size", "size of at least 1 GB required")
            made[key] = block.new_volume(
                store, zone, vname, size, 5000, project, [], None, "in_use"
            )
    return made


def create_server(store: Store, req: Request) -> Reply:
    zone = req.params["zone"]
    store.region_of(zone)
    ctype = req.field("commercial_type")
    types = server_types()
    if ctype not in types:
        raise invalid_argument("commercial_type", f"{ctype!r} is not a commercial type")
    if store.availability.get(ctype) == "shortage":
        raise out_of_stock("instance_server")
    store.check_quota("instances")
    image = get_image(store, zone, req.field("image")) if req.field("image") else None
    name = req.field("name") or "server"
    sid = store.new_id()
    volumes = _server_volumes(store, req, zone, name, image)
    project = req.field("project") or req.field("organization") or store.account.project_id
    for vol in volumes.values():
        _attach(store, vol, sid)
    dynamic = bool(req.field("dynamic_ip_required", True))
    reserved = [ips.get_ip(store, zone, i) for i in req.field("public_ips") or []]
    if req.field("public_ip"):
        reserved.append(ips.get_ip(store, zone, req.field("public_ip")))
    for ip in reserved:
        if ip["server"] is not None:
            raise invalid_argument("public_ips", f"IP {ip['id']} is attached to another server")
    if dynamic and not reserved:
        reserved.append(ips.new_ip(store, zone, project, dynamic=True, ip_type="routed_ipv4"))
    for ip in reserved:
        ips.attach(ip, sid, name)
    sg = req.field("security_group") or "5881315f-2400-43a0-ac75-08adf6cb8c12"
    now = store.clock.instance_ts()
    srv: dict[str, Any] = {
        "id": sid, "name": name, "arch": "x86_64", "commercial_type": ctype,
        "boot_type": req.field("boot_type") or "local", "organization": project,
        "project": project, "hostname": name, "image": image["id"] if image else None,
        "volumes": {k: v["id"] for k, v in volumes.items()},
        "tags": list(req.field("tags") or []), "state": "stopped",
        "protected": bool(req.field("protected", False)), "state_detail": "",
        "public_ip": None, "public_ips": [ip["id"] for ip in reserved],
        "mac_address": store.new_mac(),
        "routed_ip_enabled": True, "ipv6": None, "extra_networks": [],
        "dynamic_ip_required": dynamic, "enable_ipv6": False, "private_ip": None,
        "creation_date": now, "modification_date": now, "bootscript": None,
        "security_group": {"id": sg, "name": "Default security group"}, "location": None,
        "maintenances": [], "allowed_actions": ALLOWED["stopped"], "placement_group": None,
        "private_nics": [], "zone": zone, "filesystems": [], "end_of_service": False,
        "dns": f"{sid}.pub.instances.scw.cloud", "admin_password_encryption_ssh_key_id": None,
    }  # fmt: skip
    store.servers[sid] = srv
    store.volumes_changed(sid)
    return Reply(201, {"server": render_server(store, srv)}, location(req, "servers", sid))


def show_server(store: Store, req: Request) -> Reply:
    srv = get_server(store, req.params["zone"], req.params["id"])
    return Reply(200, {"server": render_server(store, srv)})


def list_servers(store: Store, req: Request) -> Reply:
    exact = ("project", "organization", "commercial_type", "state")
    items = instance_filter(req, list(store.servers.values()), exact)
    ids = [i for i in (req.q("servers") or "").split(",") if i]
    if ids:
        items = [s for s in items if s["id"] in ids]
    pn = req.q("private_network")
    if pn:
        items = [
            s for s in items
            if any(store.nics[n]["private_network_id"] == pn for n in s["private_nics"])
        ]  # fmt: skip
    page, headers = instance_page(req.query, items, "/servers")
    return Reply(200, {"servers": [render_server(store, s) for s in page]}, headers)


def update_server(store: Store, req: Request) -> Reply:
    srv = get_server(store, req.params["zone"], req.params["id"])
    ctype = req.field("commercial_type")
    if ctype is not None and ctype != srv["commercial_type"]:
        if ctype not in server_types():
            raise invalid_argument("commercial_type", f"{ctype!r} is not a commercial type")
        if srv["state"] != "stopped":
            raise invalid_request("server should be stopped to change its commercial type")
        srv["commercial_type"] = ctype
    pg = req.field("placement_group")
    if pg is not None and not UUID.match(str(pg)):
        raise invalid_argument("placement_group", "not a valid value")
    if pg is not None:
        raise not_found("instance", "instance_placement_group", str(pg))
    if req.field("volumes") is not None:
        _replace_volumes(store, srv, req.field("volumes"))
    for name in ("name", "protected", "dynamic_ip_required", "boot_type"):
        if req.field(name) is not None:
            srv[name] = req.field(name)
    if req.field("tags") is not None:
        srv["tags"] = list(req.field("tags"))
    srv["modification_date"] = store.clock.instance_ts()
    return Reply(200, {"server": render_server(store, srv)})


def delete_server(store: Store, req: Request) -> Reply:
    srv = get_server(store, req.params["zone"], req.params["id"])
    if srv["state"] not in ("stopped", "stopped in place"):
        raise invalid_request("server should be stopped")
    _detach_all(store, srv)
    del store.servers[srv["id"]]
    store.volumes_changed(srv["id"])
    return Reply(204)


def _set_state(store: Store, srv: dict[str, Any], state: str, detail: str) -> None:
    srv["state"], srv["state_detail"] = state, detail
    srv["allowed_actions"] = ALLOWED[state]
    srv["modification_date"] = store.clock.instance_ts()
    if state in ("running", "stopping") and srv["location"] is None:
        srv["location"] = {
            "zone_id": srv["zone"], "platform_id": "14", "cluster_id": "16",
            "hypervisor_id": "2001", "node_id": "58",
        }  # fmt: skip
    if state in ("stopped", "starting"):
        srv["location"] = None


def _after(store: Store, srv: dict[str, Any], seconds: float, expect: tuple[str, str],
           then: tuple[str, str] | None) -> None:  # fmt: skip
    """After ``seconds``, move from state ``expect`` to ``then`` (None = delete)."""
    sid = srv["id"]

    def fire() -> None:
        cur = store.servers.get(sid)
        if cur is None or (cur["state"], cur["state_detail"]) != expect:
            return
        if then is None:
            _detach_all(store, cur)
            del store.servers[sid]
            store.volumes_changed(sid)
            return
        _set_state(store, cur, *then)
        if then[0] == "running" and store.on_running is not None:
            store.on_running(sid)

    store.later(seconds, fire)


# -- Block volumes on a server (hot-plug) ------------------------------------------
def _check_count(count: int) -> None:
    if count > MAX_SERVER_VOLUMES:
        raise invalid_request(
            f"an Instance can have at most {MAX_SERVER_VOLUMES} volumes, boot volume included"
        )


def _check_hotplug(srv: dict[str, Any]) -> None:
    """Volumes change only on a running or stopped server (400 while it changes state)."""
    if srv["state"] not in HOTPLUG_STATES:
        raise invalid_request("server is being stopped or rebooted")


def _attachable(
    store: Store, zone: str, volume_id: Any, server_id: str, arg: str
) -> dict[str, Any]:
    """The Block volume of the server's zone, free to attach (404 from another zone)."""
    if not isinstance(volume_id, str) or not UUID.match(volume_id):
        raise invalid_argument(arg, "not a valid value")
    vol = store.volumes.get(volume_id)
    if vol is None or vol["zone"] != zone:  # a zoned API sees only its zone's volumes
        raise not_found("instance", "instance_volume", volume_id)
    if vol["status"] in ("creating", "updating"):
        raise transient_state("volume", volume_id, vol["status"])
    holder = next((r["product_resource_id"] for r in vol["references"]
                   if r["product_resource_type"] == "instance_server"), None)  # fmt: skip
    if holder is not None and holder != server_id:
        raise invalid_argument(arg, f"volume {volume_id} is attached to server {holder}")
    return vol


def _volume_type(value: Any, arg: str) -> None:
    if value not in (None, "sbs_volume"):
        raise invalid_argument(arg, f"{value} is not simulated: use sbs_volume")


def attach_volume(store: Store, req: Request) -> Reply:
    """``POST servers/{id}/attach-volume``: plug a Block volume in at the next free index."""
    zone = req.params["zone"]
    srv = get_server(store, zone, req.params["id"])
    _volume_type(req.field("volume_type"), "volume_type")
    vol = _attachable(store, zone, req.field("volume_id"), srv["id"], "volume_id")
    if vol["id"] in srv["volumes"].values():
        raise invalid_argument("volume_id", f"volume {vol['id']} is already attached")
    _check_hotplug(srv)
    _check_count(len(srv["volumes"]) + 1)
    key = next(str(i) for i in range(MAX_SERVER_VOLUMES + 1) if str(i) not in srv["volumes"])
    srv["volumes"][key] = vol["id"]
    _attach(store, vol, srv["id"], store.clock.block_ts())
    srv["modification_date"] = store.clock.instance_ts()
    store.volumes_changed(srv["id"])
    return Reply(200, {"server": render_server(store, srv)})


def detach_volume(store: Store, req: Request) -> Reply:
    """``POST servers/{id}/detach-volume``: unplug it; the volume becomes ``available``."""
    zone = req.params["zone"]
    srv = get_server(store, zone, req.params["id"])
    volume_id = req.field("volume_id")
    key = next((k for k, v in srv["volumes"].items() if v == volume_id), None)
    if key is None:
        if not isinstance(volume_id, str) or volume_id not in store.volumes:
            raise not_found("instance", "instance_volume", str(volume_id))
        raise invalid_argument("volume_id", f"volume {volume_id} is not attached to this server")
    _check_hotplug(srv)
    if key == "0" and srv["state"] != "stopped":
        raise invalid_request("the boot volume can only be detached from a stopped server")
    del srv["volumes"][key]
    _detach(store, str(volume_id))
    srv["modification_date"] = store.clock.instance_ts()
    store.volumes_changed(srv["id"])
    return Reply(200, {"server": render_server(store, srv)})


def _replace_volumes(store: Store, srv: dict[str, Any], wanted: dict[str, Any]) -> None:
    """PATCH ``volumes`` (the docs' way to hot-plug): the map becomes exactly ``wanted``."""
    new: dict[str, str] = {}
    for key, tpl in wanted.items():
        vid = tpl.get("id") if isinstance(tpl, dict) else tpl
        if not key.isdigit():
            raise invalid_argument(f"volumes.{key}", 'volume keys are indexes ("0", "1"...)')
        if isinstance(tpl, dict):
            _volume_type(tpl.get("volume_type"), f"volumes.{key}.volume_type")
        new[key] = _attachable(store, srv["zone"], vid, srv["id"], f"volumes.{key}.id")["id"]
    if new == srv["volumes"]:
        return
    _check_hotplug(srv)
    _check_count(len(new))
    if "0" not in new or (new["0"] != srv["volumes"].get("0") and srv["state"] != "stopped"):
        raise invalid_request("the boot volume can only be changed on a stopped server")
    now = store.clock.block_ts()
    for vid in set(srv["volumes"].values()) - set(new.values()):
        _detach(store, vid)
    for vid in set(new.values()) - set(srv["volumes"].values()):
        _attach(store, store.volumes[vid], srv["id"], now)
    srv["volumes"] = new
    store.volumes_changed(srv["id"])


def mark_running(store: Store, srv: dict[str, Any]) -> None:
    """Put a server in ``running`` at once (the lab's migration hosts are already up)."""
    _set_state(store, srv, "running", "booting kernel")


def server_action(store: Store, req: Request) -> Reply:
    srv = get_server(store, req.params["zone"], req.params["id"])
    action = req.field("action", "poweron")
    t = store.timings
    if action == "backup":
        raise invalid_request("the backup action is not simulated")
    if action not in ALLOWED[srv["state"]]:
        if srv["state"] in ("starting", "stopping"):
            raise transient_state("instance_server", srv["id"], srv["state"])
        raise invalid_request(f"action {action} is not allowed in state {srv['state']}")
    if action == "poweron":
        _set_state(store, srv, "starting", "allocating node")
        booted = ("running", "booting kernel")
        _after(store, srv, t.poweron, ("starting", "allocating node"), booted)
    elif action == "poweroff":
        _set_state(store, srv, "stopping", "stopping")
        _after(store, srv, t.poweroff, ("stopping", "stopping"), ("stopped", ""))
    elif action == "stop_in_place":
        _set_state(store, srv, "stopping", "stopping")
        _after(store, srv, t.poweroff, ("stopping", "stopping"), ("stopped in place", ""))
    elif action == "terminate":
        _set_state(store, srv, "stopping", "terminating")
        _after(store, srv, t.terminate, ("stopping", "terminating"), None)
    elif action == "reboot":
        _set_state(store, srv, "starting", "rebooting")
        _after(store, srv, t.reboot, ("starting", "rebooting"), ("running", "booting kernel"))
    task = {
        "id": ZERO_TASK, "description": "fake task", "status": "pending",
        "href_from": f"/servers/{srv['id']}/action", "href_result": f"/servers/{srv['id']}",
        "started_at": store.clock.instance_ts(), "terminated_at": None, "progress": 0,
        "zone": srv["zone"],
    }  # fmt: skip
    return Reply(202, {"task": task})


def register(router: Router) -> None:
    router.add("GET", P + "/servers", list_servers, "instance")
    router.add("POST", P + "/servers", create_server, "instance")
    router.add("GET", P + "/servers/<id>", show_server, "instance")
    router.add("PATCH", P + "/servers/<id>", update_server, "instance")
    router.add("DELETE", P + "/servers/<id>", delete_server, "instance")
    router.add("POST", P + "/servers/<id>/action", server_action, "instance")
    router.add("POST", P + "/servers/<id>/attach-volume", attach_volume, "instance")
    router.add("POST", P + "/servers/<id>/detach-volume", detach_volume, "instance")
