"""``scw_server``: the migrated Instance, from the image, with private NICs, powered on.

Failure contract: the server is tagged at creation, so a failure after the
create call leaves an object the next run adopts and carries on with (NICs,
power-on and checks are each idempotent).
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from typing import Any

from scaleway.instance.v1 import Server, ServerAction, VolumeServerTemplate, VolumeVolumeType

from vmware2scw.errors import ProviderError, TransientError
from vmware2scw.provider import ApplyContext, Attrs

from .adopt import address_tag, create_once, has_tags, object_tags, pick_one, user_tags
from .catalogue import Catalogue
from .client import ApiError, ApiTransientError, ScalewayClient, is_not_found
from .ips import ensure_ip, release_ips
from .settings import ScalewaySettings
from .volumes import boot_volumes, detach, get_volume
from .wait import wait_for

GONE = "gone"
TcpProbe = Callable[[Attrs, list[int]], list[tuple[str, int]]]


def list_tagged(api: ScalewayClient, zone: str, tag: str) -> list[Server]:
    """Every server of the zone carrying ``tag`` (one paginated listing)."""
    items = api.instance.list_servers_all(zone=zone, tags=[tag], per_page=100)
    return [s for s in items if tag in s.tags]


def attrs_of(srv: Server) -> Attrs:
    """Observed attributes of a server (those v2s compares or reports)."""
    public = srv.public_ip.address if srv.public_ip else None
    if not public and srv.public_ips:
        public = srv.public_ips[0].address
    return {
        "id": srv.id,
        "name": srv.name,
        "zone": str(srv.zone),
        "commercial_type": srv.commercial_type,
        "tags": user_tags(srv.tags),
        "state": str(srv.state),
        "power_on": str(srv.state) in {"running", "starting"},  # drift: stopped by someone
        "public_ip_address": public,
        "private_ips": [srv.private_ip] if srv.private_ip else [],
        "volume_ids": [v.id for _k, v in sorted(srv.volumes.items(), key=lambda kv: int(kv[0]))],
        "private_networks": [n.private_network_id for n in srv.private_nics],
    }


def _get(api: ScalewayClient, zone: str, server_id: str) -> Server | None:
    try:
        res = api.instance.get_server(zone=zone, server_id=server_id)
    except ApiError as exc:
        if is_not_found(exc):
            return None
        raise
    return res.server


def _must_get(api: ScalewayClient, zone: str, server_id: str, address: str) -> Server:
    srv = _get(api, zone, server_id)
    if srv is None:
        raise ProviderError(f"server {server_id} vanished", address=address,
                            hint="run `v2s plan` again: it will be created anew")
    return srv


def _volumes_from_image(api: ScalewayClient, zone: str, image_id: str) -> dict[str, Any]:
    """One sbs_volume per image volume, sized like its Block snapshot."""
    res = api.instance.get_image(zone=zone, image_id=image_id)
    img = res.image
    if img is None or img.root_volume is None:
        raise ProviderError(f"image {image_id} has no root volume")
    vols: dict[str, Any] = {}
    sources = {"0": img.root_volume.id}
    sources.update({k: v.id for k, v in (img.extra_volumes or {}).items()})
    for k, snap_id in sorted(sources.items(), key=lambda kv: int(kv[0])):
        size = api.block.get_snapshot(snapshot_id=snap_id, zone=zone).size
        vols[k] = VolumeServerTemplate(volume_type=VolumeVolumeType.SBS_VOLUME, boot=False,
                                       size=size)
    return vols


def create_or_adopt(
    api: ScalewayClient, planned: Attrs, ctx: ApplyContext, ip_mode: str = "flexible",
) -> tuple[Server, bool]:
    """Find the tagged server or create it from the image (stopped).

    A public IP is a tagged flexible IP (``ip_mode`` "flexible") or a dynamic one."""
    zone = str(planned.get("zone") or api.creds.zone)
    tags = object_tags(ctx.tags, planned.get("tags"))
    public = bool(planned.get("public_ip", True))

    def find() -> Server | None:
        found = [s for s in list_tagged(api, zone, address_tag(ctx.tags))
                 if has_tags(s.tags, ctx.tags)]
        return pick_one(found, "server", ctx.address)

    def create() -> Server:
        flexible = public and ip_mode == "flexible"
        public_ips = [ensure_ip(api, zone, ctx, planned.get("tags")).id] if flexible else None
        res = api.instance.create_server(
            zone=zone, commercial_type=str(planned["commercial_type"]),
            name=str(planned.get("name") or ctx.address),
            image=str(planned["image_id"]) if planned.get("image_id") else None,
            volumes=(boot_volumes(list(planned["boot_volume_ids"]))
                     if planned.get("boot_volume_ids")
                     else _volumes_from_image(api, zone, str(planned["image_id"]))),
            dynamic_ip_required=public and not flexible, public_ips=public_ips,
            boot_type="local", project=api.project_id, tags=tags,
            security_group=planned.get("security_group") or None,
        )
        assert res.server is not None
        return res.server

    return create_once(find, create, what="server", address=ctx.address)


def attach_private_networks(
    api: ScalewayClient, settings: ScalewaySettings, zone: str, srv: Server,
    networks: list[str], ctx: ApplyContext,
) -> None:
    """One private NIC per wanted network, in order; existing ones are kept (idempotent)."""
    def present(pn: str) -> bool:
        nics = api.instance.list_private_ni_cs_all(server_id=srv.id, zone=zone)
        return any(n.private_network_id == pn for n in nics)

    for pn in networks:
        if present(pn):
            continue
        try:
            api.instance.create_private_nic(server_id=srv.id, private_network_id=pn, zone=zone,
                                            tags=list(ctx.tags))
        except ApiTransientError:
            if not present(pn):
                raise
        except ApiError as exc:
            raise ProviderError(f"cannot attach private network {pn}: {exc.message}",
                                address=ctx.address,
                                hint="check the Private Network exists in this zone's region",
                                ) from None
    if networks:
        wait_for(
            lambda: api.instance.list_private_ni_cs_all(server_id=srv.id, zone=zone),
            lambda nics: all(str(n.state) != "syncing" for n in nics),
            ctx=ctx, what="private NICs", timeout=settings.server_timeout,
            interval=settings.poll_interval, phase="network",
            describe=lambda nics: ", ".join(sorted({str(n.state) for n in nics})),
        )


IOPS = {"sbs_5k": 5000, "sbs_15k": 15000}


def tag_volumes(api: ScalewayClient, zone: str, srv: Server, planned: Attrs,
                ctx: ApplyContext) -> None:
    """Tag the server's Block volumes with lineage + address and set their IOPS class."""
    wanted_iops = IOPS.get(str(planned.get("volume_type") or ""))
    tags = object_tags(ctx.tags, planned.get("tags"))
    for vol_ref in srv.volumes.values():
        try:
            vol = api.block.get_volume(volume_id=vol_ref.id, zone=zone)
        except ApiError as exc:
            if is_not_found(exc):
                continue
            raise
        iops = vol.specs.perf_iops if vol.specs else None
        new_iops = wanted_iops if wanted_iops and wanted_iops != iops else None
        if has_tags(vol.tags, tags) and new_iops is None:
            continue
        api.block.update_volume(volume_id=vol.id, zone=zone, tags=tags, perf_iops=new_iops)


def _action(api: ScalewayClient, zone: str, server_id: str, action: ServerAction,
            ok_states: set[str], address: str) -> None:
    """Run an action; a lost reply is checked against the server's state, not repeated."""
    try:
        api.instance.server_action(server_id=server_id, zone=zone, action=action)
    except (ApiTransientError, ApiError) as exc:
        srv = _get(api, zone, server_id)
        state = str(srv.state) if srv else GONE
        if state in ok_states:
            return
        if isinstance(exc, ApiError):
            raise ProviderError(f"{action} on server {server_id} refused: {exc.message}",
                                address=address) from None
        raise


def power(api: ScalewayClient, settings: ScalewaySettings, zone: str, server_id: str,
          on: bool, ctx: ApplyContext) -> Server:
    """Power on (or off) and wait for ``running`` (or ``stopped``)."""
    target = "running" if on else "stopped"
    srv = _must_get(api, zone, server_id, ctx.address)
    if str(srv.state) != target:
        if on and str(srv.state) in {"stopped", "stopped in place"}:
            _action(api, zone, server_id, ServerAction.POWERON, {"starting", "running"},
                    ctx.address)
        elif not on and str(srv.state) == "running":
            _action(api, zone, server_id, ServerAction.POWEROFF, {"stopping", "stopped"},
                    ctx.address)
        srv = wait_for(
            lambda: _must_get(api, zone, server_id, ctx.address),
            lambda s: str(s.state) in {target, "locked"},
            ctx=ctx, what=f"server {server_id} {target}", timeout=settings.server_timeout,
            interval=settings.poll_interval, phase="power",
            describe=lambda s: f"{s.state} {s.state_detail}".strip(),
        )
        if str(srv.state) == "locked":
            raise ProviderError(f"server {server_id} is locked by Scaleway", address=ctx.address,
                                hint="contact Scaleway support")
    return srv


def default_tcp_targets(attrs: Attrs, ports: list[int]) -> list[tuple[str, int]]:
    """Where to probe ``verify_tcp`` ports: the public IP (the lab overrides this hook)."""
    host = attrs.get("public_ip_address")
    return [(str(host), p) for p in ports] if host else []


def resolver_targets(template: str, timeout: float = 10.0,
                     auth: tuple[str, str] | None = None) -> TcpProbe:
    """A ``tcp_targets`` hook asking a URL (lab simulator) where each port is forwarded.

    ``template`` has ``{server_id}`` and ``{port}``; the answer is ``{"host", "port"}``.
    ``auth`` = (API URL, token): the token is sent only to URLs under that API URL.
    """
    import requests

    def targets(attrs: Attrs, ports: list[int]) -> list[tuple[str, int]]:
        out = []
        for p in ports:
            url = template.format(server_id=attrs["id"], port=p)
            headers = {}
            if auth and url.startswith(auth[0].rstrip("/") + "/"):
                headers["X-Auth-Token"] = auth[1]
            try:
                res = requests.get(url, timeout=timeout, headers=headers)
                res.raise_for_status()
                data = res.json()
                out.append((str(data["host"]), int(data["port"])))
            except (requests.RequestException, ValueError, KeyError, TypeError) as exc:
                raise TransientError(f"cannot resolve where port {p} is reachable: "
                                     f"{type(exc).__name__}") from None
        return out

    return targets


def verify_tcp(targets: list[tuple[str, int]], timeout: float, ctx: ApplyContext) -> None:
    """Wait until every (host, port) accepts a TCP connection."""
    deadline = time.monotonic() + timeout
    for host, port in targets:
        while True:
            try:
                with socket.create_connection((host, port), timeout=5):
                    break
            except OSError:
                if time.monotonic() >= deadline or ctx.cancelled.is_set():
                    raise TransientError(f"{host}:{port} does not answer after {timeout:.0f} s",
                                         address=ctx.address,
                                         hint="check the guest booted and its firewall") from None
                ctx.progress("verify", message=f"waiting for {host}:{port}")
                ctx.cancelled.wait(2.0)


def apply_server(
    api: ScalewayClient, settings: ScalewaySettings, catalogue: Catalogue | None,
    planned: Attrs, prior: Attrs | None, ctx: ApplyContext,
    tcp_targets: TcpProbe = default_tcp_targets,
) -> Attrs:
    """Create-or-adopt then converge (NICs, power, checks); or update in place."""
    zone = str(planned.get("zone") or api.creds.zone)
    if prior and prior.get("id"):
        srv = update_server(api, settings, planned, prior, ctx)
    else:
        ctx.progress("create", message=str(planned.get("commercial_type")))
        for vid in planned.get("boot_volume_ids") or ():  # off the migration host first
            detach(api, settings, zone, str(vid), ctx)
        srv, adopted = create_or_adopt(api, planned, ctx, settings.public_ip_mode)
        ctx.checkpoint({"id": srv.id, "adopted": adopted})
        tag_volumes(api, zone, srv, planned, ctx)
        attach_private_networks(api, settings, zone, srv,
                                [str(p) for p in planned.get("private_networks") or []], ctx)
    if planned.get("power_on", True):
        srv = power(api, settings, zone, srv.id, True, ctx)
    elif prior:
        srv = power(api, settings, zone, srv.id, False, ctx)
    observed = attrs_of(_must_get(api, zone, srv.id, ctx.address))
    ports = [int(p) for p in planned.get("verify_tcp") or []]
    if ports and planned.get("power_on", True):
        verify_tcp(tcp_targets(observed, ports), settings.server_timeout, ctx)
    price = None
    if catalogue is not None:
        offer = catalogue.get(zone, str(planned["commercial_type"]))
        price = offer.monthly_price if offer else None
    out = {**planned}
    for k in ("id", "state", "public_ip_address", "private_ips", "volume_ids"):
        out[k] = observed[k]
    out["monthly_price"] = price
    return out


def update_server(
    api: ScalewayClient, settings: ScalewaySettings, planned: Attrs, prior: Attrs,
    ctx: ApplyContext,
) -> Server:
    """Name and tags in place; a new commercial type stops, changes and restarts."""
    zone = str(planned.get("zone") or api.creds.zone)
    sid = str(prior["id"])
    srv = _must_get(api, zone, sid, ctx.address)
    if srv.commercial_type != planned.get("commercial_type"):
        was_on = str(srv.state) == "running"
        ctx.progress("resize", message=f"{srv.commercial_type} -> {planned['commercial_type']}")
        power(api, settings, zone, sid, False, ctx)
        api.instance._update_server(server_id=sid, zone=zone,
                                    commercial_type=str(planned["commercial_type"]))
        if was_on and not planned.get("power_on", True):
            power(api, settings, zone, sid, True, ctx)
    tags = object_tags(ctx.tags, planned.get("tags"))
    name = str(planned.get("name") or ctx.address)
    if srv.name != name or list(srv.tags) != tags:
        api.instance._update_server(server_id=sid, zone=zone, name=name, tags=tags)
    srv = _must_get(api, zone, sid, ctx.address)
    tag_volumes(api, zone, srv, planned, ctx)
    return srv


def delete_server(
    api: ScalewayClient, settings: ScalewaySettings, prior: Attrs, ctx: ApplyContext
) -> None:
    """Terminate (or delete when stopped) the server and any other carrying its tags,
    then delete their Block volumes (Scaleway only detaches them)."""
    zone = str(prior.get("zone") or api.creds.zone)
    servers: dict[str, Server] = {}
    sid = str(prior.get("id") or "")
    recorded = _get(api, zone, sid) if sid else None
    if recorded is not None:
        servers[recorded.id] = recorded
    for s in list_tagged(api, zone, address_tag(ctx.tags)):
        if has_tags(s.tags, ctx.tags):
            servers.setdefault(s.id, s)
    volume_ids = set(prior.get("volume_ids") or [])
    for srv in servers.values():
        volume_ids |= {v.id for v in srv.volumes.values()}
        _remove_server(api, settings, zone, srv, ctx)
    tagged = api.block.list_volumes_all(include_deleted=False, zone=zone,
                                        tags=[address_tag(ctx.tags)], page_size=100)
    volume_ids |= {v.id for v in tagged if has_tags(v.tags, ctx.tags)}
    volume_ids -= set(prior.get("boot_volume_ids") or ())  # scw_volume resources own these
    for vid in sorted(volume_ids):
        delete_volume(api, settings, zone, vid, ctx)
    release_ips(api, zone, ctx)


def _remove_server(api: ScalewayClient, settings: ScalewaySettings, zone: str, srv: Server,
                   ctx: ApplyContext) -> None:
    sid = srv.id
    current: Server | None = srv
    if str(srv.state) in {"starting", "stopping"}:
        current = wait_for(
            lambda: _get(api, zone, sid),
            lambda s: s is None or str(s.state) in {"running", "stopped", "stopped in place"},
            ctx=ctx, what=f"server {sid}", timeout=settings.server_timeout,
            interval=settings.poll_interval, phase="delete")
    if current is not None and str(current.state) == "running":
        _action(api, zone, sid, ServerAction.TERMINATE, {"stopping", GONE}, ctx.address)
    elif current is not None:
        try:
            api.instance.delete_server(zone=zone, server_id=sid)
        except ApiError as exc:
            if not is_not_found(exc):
                raise ProviderError(f"cannot delete server {sid}: {exc.message}",
                                    address=ctx.address) from None
    wait_for(lambda: _get(api, zone, sid), lambda s: s is None, ctx=ctx,
             what=f"server {sid} deletion", timeout=settings.server_timeout,
             interval=settings.poll_interval, phase="delete",
             describe=lambda s: str(s.state) if s else GONE)


def delete_volume(api: ScalewayClient, settings: ScalewaySettings, zone: str, vid: str,
                  ctx: ApplyContext) -> None:
    """Delete a Block volume once it is detached (gone already is fine)."""
    busy = {"in_use", "detaching", "creating", "updating"}
    vol = wait_for(lambda: get_volume(api, zone, vid),
                   lambda v: v is None or str(v.status) not in busy, ctx=ctx,
                   what=f"volume {vid} detach", timeout=settings.server_timeout,
                   interval=settings.poll_interval, phase="delete",
                   describe=lambda v: str(v.status) if v else GONE)
    if vol is None:
        return
    try:
        api.block.delete_volume(volume_id=vid, zone=zone)
    except ApiError as exc:
        if not is_not_found(exc):
            raise ProviderError(f"cannot delete volume {vid}: {exc.message}",
                                address=ctx.address) from None
