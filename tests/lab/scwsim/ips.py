"""Instance flexible IPs (routed): the resource, its view inside a server, its routes.

Not in the recordings except the 400 on a reverse that does not resolve (the
simulator resolves nothing, so any reverse is refused with that recorded text).
"""

from __future__ import annotations

import copy
from typing import Any

from .errors import invalid_argument, not_found
from .store import Store, instance_page
from .wire import Reply, Request, Router

P = "/instance/v1/zones/<zone>/ips"


def new_ip(store: Store, zone: str, project: str, *, dynamic: bool, ip_type: str) -> dict[str, Any]:
    n = len(store.ips) + 1
    if ip_type not in ("routed_ipv4", "routed_ipv6"):
        raise invalid_argument("type", "must be routed_ipv4 or routed_ipv6")
    v4 = ip_type == "routed_ipv4"
    ip: dict[str, Any] = {
        "id": store.new_id(),
        "address": f"51.15.{(n >> 8) & 0xFF}.{n & 0xFF}" if v4 else f"2001:bc8:710:{n:x}::",
        "reverse": None, "server": None, "organization": project, "project": project,
        "zone": zone, "type": ip_type, "state": "detached",
        "prefix": f"51.15.{(n >> 8) & 0xFF}.{n & 0xFF}/32" if v4 else f"2001:bc8:710:{n:x}::/64",
        "ipam_id": store.new_id(), "tags": [], "_dynamic": dynamic,
    }  # fmt: skip
    store.ips[ip["id"]] = ip
    return ip


def attach(ip: dict[str, Any], server_id: str, name: str) -> None:
    ip["server"] = {"id": server_id, "name": name}
    ip["state"] = "attached"


def server_view(ip: dict[str, Any]) -> dict[str, Any]:
    """The ``ServerIp`` shape of an IP inside a server body."""
    v4 = ip["type"] == "routed_ipv4"
    return {
        "id": ip["id"], "address": ip["address"], "gateway": "62.210.0.1" if v4 else "fe80::1",
        "netmask": "32" if v4 else "64", "family": "inet" if v4 else "inet6",
        "dynamic": ip["_dynamic"], "provisioning_mode": "dhcp" if v4 else "slaac",
        "tags": list(ip["tags"]), "ipam_id": ip["ipam_id"], "state": "attached",
    }  # fmt: skip


def release(store: Store, ip_ids: list[str]) -> None:
    """A server goes: dynamic IPs go with it, reserved ones are detached."""
    for ip_id in ip_ids:
        ip = store.ips.get(ip_id)
        if ip is None:
            continue
        if ip["_dynamic"]:
            del store.ips[ip_id]
        else:
            ip["server"], ip["state"] = None, "detached"


def view(ip: dict[str, Any]) -> dict[str, Any]:
    return {k: copy.deepcopy(v) for k, v in ip.items() if not k.startswith("_")}


def get_ip(store: Store, zone: str, ip_id: str) -> dict[str, Any]:
    ip = store.ips.get(ip_id)
    if ip is None or ip["zone"] != zone:
        raise not_found("instance", "instance_ip", ip_id)
    return ip


def create_ip(store: Store, req: Request) -> Reply:
    zone = req.params["zone"]
    store.region_of(zone)
    project = req.field("project") or req.field("organization") or store.account.project_id
    ip = new_ip(store, zone, project, dynamic=False, ip_type=req.field("type") or "routed_ipv4")
    ip["tags"] = list(req.field("tags") or [])
    return Reply(201, {"ip": view(ip)}, {"Location": f"/instance/v1/zones/{zone}/ips/{ip['id']}"})


def show_ip(store: Store, req: Request) -> Reply:
    return Reply(200, {"ip": view(get_ip(store, req.params["zone"], req.params["id"]))})


def update_ip(store: Store, req: Request) -> Reply:
    ip = get_ip(store, req.params["zone"], req.params["id"])
    reverse = req.field("reverse")
    if reverse:
        raise invalid_argument(
            "reverse",
            f"Your reverse must resolve. Ensure the command 'dig +short {reverse}' matches your"
            f" IP address '{ip['address']}'. If it does, please contact our support.",
        )
    if req.field("tags") is not None:
        ip["tags"] = list(req.field("tags"))
    return Reply(200, {"ip": view(ip)})


def delete_ip(store: Store, req: Request) -> Reply:
    ip = get_ip(store, req.params["zone"], req.params["id"])
    if ip["server"] is not None:
        server = store.servers.get(ip["server"]["id"])
        if server is not None:
            server["public_ips"].remove(ip["id"])
    del store.ips[ip["id"]]
    return Reply(204)


def list_ips(store: Store, req: Request) -> Reply:
    zone = req.params["zone"]
    items = [i for i in store.ips.values() if i["zone"] == zone]
    tags = [t for t in (req.q("tags") or "").split(",") if t]
    if tags:
        items = [i for i in items if set(tags) <= set(i["tags"])]
    page, headers = instance_page(req.query, items, "/ips")
    return Reply(200, {"ips": [view(i) for i in page]}, headers)


def register(router: Router) -> None:
    router.add("GET", P, list_ips, "instance")
    router.add("POST", P, create_ip, "instance")
    router.add("GET", P + "/<id>", show_ip, "instance")
    router.add("PATCH", P + "/<id>", update_ip, "instance")
    router.add("DELETE", P + "/<id>", delete_ip, "instance")
