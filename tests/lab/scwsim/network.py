"""Instance API, the rest: private NICs, the products catalogue, the (SBS-blind) volumes.

Private NICs follow instance-create-private-nic.json (201, ``syncing`` then
``available``); products follow instance-products-servers*.json (a map keyed by
commercial type, paged with ``X-Total-Count`` and ``Link``).
"""

from __future__ import annotations

from typing import Any

from . import ipam
from .catalogue import server_types
from .errors import invalid_argument, not_found
from .instance import UUID, P, get_server
from .store import Store, instance_page
from .wire import Reply, Request, Router


def _nic(store: Store, req: Request) -> dict[str, Any]:
    srv = get_server(store, req.params["zone"], req.params["id"])
    nic_id = req.params["nic"]
    if nic_id not in srv["private_nics"]:
        raise not_found("instance", "instance_private_nic", nic_id)
    return store.nics[nic_id]


def create_nic(store: Store, req: Request) -> Reply:
    srv = get_server(store, req.params["zone"], req.params["id"])
    pn = req.field("private_network_id")
    if not isinstance(pn, str) or not UUID.match(pn):
        raise invalid_argument("private_network_id", "must be a UUID")
    if any(store.nics[n]["private_network_id"] == pn for n in srv["private_nics"]):
        raise invalid_argument("private_network_id", "the server is already in this network")
    now = store.clock.instance_ts()
    nic = {
        "id": store.new_id(), "private_network_id": pn, "server_id": srv["id"],
        "mac_address": store.new_mac("02:00:00"), "state": "syncing", "creation_date": now,
        "modification_date": now, "zone": srv["zone"], "tags": list(req.field("tags") or []),
        "ipam_ip_ids": [store.new_id(), store.new_id()],
    }  # fmt: skip
    store.nics[nic["id"]] = nic
    srv["private_nics"].append(nic["id"])
    ipam.allocate(store, nic, srv["name"])
    nic_id = nic["id"]

    def ready() -> None:
        cur = store.nics.get(nic_id)
        if cur is not None and cur["state"] == "syncing":
            cur["state"] = "available"
            cur["modification_date"] = store.clock.instance_ts()

    store.later(store.timings.private_nic, ready)
    location = {"Location": f"/instance/v1/zones/{srv['zone']}/servers/{srv['id']}"
                f"/private_nics/{nic_id}"}  # fmt: skip
    return Reply(201, {"private_nic": store.view(nic)}, location)


def show_nic(store: Store, req: Request) -> Reply:
    return Reply(200, {"private_nic": store.view(_nic(store, req))})


def delete_nic(store: Store, req: Request) -> Reply:
    nic = _nic(store, req)
    store.servers[str(nic["server_id"])]["private_nics"].remove(nic["id"])
    del store.nics[str(nic["id"])]
    ipam.release(store, nic)
    return Reply(204)


def list_nics(store: Store, req: Request) -> Reply:
    srv = get_server(store, req.params["zone"], req.params["id"])
    items = [store.nics[n] for n in srv["private_nics"]]
    page, headers = instance_page(req.query, items, f"/servers/{srv['id']}/private_nics")
    return Reply(200, {"private_nics": [store.view(n) for n in page]}, headers)


def list_server_types(store: Store, req: Request) -> Reply:
    types = server_types()
    page, headers = instance_page(req.query, sorted(types), "/products/servers")
    return Reply(200, {"servers": {name: types[name] for name in page}}, headers)


def server_types_availability(store: Store, req: Request) -> Reply:
    names = sorted(server_types())
    page, headers = instance_page(req.query, names, "/products/servers/availability")
    body = {n: {"availability": store.availability.get(n, "available")} for n in page}
    return Reply(200, {"servers": body}, headers)


def show_instance_volume(store: Store, req: Request) -> Reply:
    """The Instance API never knows SBS volumes (recorded): always 404."""
    raise not_found("instance", "instance_volume", req.params["id"])


def list_instance_volumes(store: Store, req: Request) -> Reply:
    page, headers = instance_page(req.query, [], "/volumes")
    return Reply(200, {"volumes": page}, headers)


def register(router: Router) -> None:
    s = P + "/servers/<id>/private_nics"
    router.add("GET", s, list_nics, "instance")
    router.add("POST", s, create_nic, "instance")
    router.add("GET", s + "/<nic>", show_nic, "instance")
    router.add("DELETE", s + "/<nic>", delete_nic, "instance")
    router.add("GET", P + "/products/servers", list_server_types, "instance")
    router.add("GET", P + "/products/servers/availability", server_types_availability, "instance")
    router.add("GET", P + "/volumes", list_instance_volumes, "instance")
    router.add("GET", P + "/volumes/<id>", show_instance_volume, "instance")
