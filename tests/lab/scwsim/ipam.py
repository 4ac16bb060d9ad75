"""IPAM (regional): the private addresses behind a private NIC's ``ipam_ip_ids``.

Not in the recordings: field names follow the SDK's ``scaleway.ipam.v1.IP``. A
NIC gets one IPv4 (/22) and one IPv6 (/64) address, as the recorded NIC's two
``ipam_ip_ids`` suggest; they go when the NIC (or its server) goes.
"""

from __future__ import annotations

import copy
import itertools
from typing import Any

from .errors import not_found
from .store import Store, int_param, page_of
from .wire import Reply, Request, Router

P = "/ipam/v1/regions/<region>/ips"
_counter = itertools.count(10)


def allocate(store: Store, nic: dict[str, Any], server_name: str) -> None:
    """Create the NIC's two addresses under the ids already in ``ipam_ip_ids``."""
    n = next(_counter)
    now = store.clock.block_ts()
    addresses = (f"172.16.{(n >> 8) & 0x3}.{n & 0xFF}/22", f"fd5f:519c:6d46:{n:x}::1/64")
    for ip_id, address in zip(nic["ipam_ip_ids"], addresses, strict=True):
        store.ipam[ip_id] = {
            "id": ip_id, "address": address, "project_id": store.account.project_id,
            "is_ipv6": ":" in address, "created_at": now, "updated_at": now,
            "source": {"private_network_id": nic["private_network_id"]},
            "resource": {"type": "instance_private_nic", "id": nic["id"],
                         "mac_address": nic["mac_address"], "name": server_name},
            "tags": [], "reverses": [], "region": store.region_of(nic["zone"]),
            "zone": nic["zone"],
        }  # fmt: skip


def release(store: Store, nic: dict[str, Any]) -> None:
    for ip_id in nic["ipam_ip_ids"]:
        store.ipam.pop(ip_id, None)


def list_ips(store: Store, req: Request) -> Reply:
    region = req.params["region"]
    items = [i for i in store.ipam.values() if i["region"] == region]
    rid = req.query.get("resource_id", []) + req.query.get("resource_ids", [])
    if rid:
        items = [i for i in items if i["resource"]["id"] in rid]
    fields = {
        "private_network_id": ("source", "private_network_id"),
        "mac_address": ("resource", "mac_address"),
        "resource_type": ("resource", "type"),
    }
    for name, (outer, inner) in fields.items():
        value = req.q(name)
        if value:
            items = [i for i in items if i[outer][inner] == value]
    project = req.q("project_id")
    if project:
        items = [i for i in items if i["project_id"] == project]
    v6 = req.q("is_ipv6")
    if v6 is not None:
        items = [i for i in items if i["is_ipv6"] == (v6.lower() == "true")]
    page = int_param(req.query, "page", 1, 10**6)
    size = int_param(req.query, "page_size", 50, 100)
    shown = [copy.deepcopy(i) for i in page_of(items, page, size)]
    return Reply(200, {"ips": shown, "total_count": len(items)}, api="block")


def show_ip(store: Store, req: Request) -> Reply:
    ip = store.ipam.get(req.params["id"])
    if ip is None or ip["region"] != req.params["region"]:
        raise not_found("block", "ip", req.params["id"])
    return Reply(200, copy.deepcopy(ip), api="block")


def register(router: Router) -> None:
    router.add("GET", P, list_ips, "block")
    router.add("GET", P + "/<id>", show_ip, "block")
