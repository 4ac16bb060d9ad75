"""Flexible public IPs of migrated servers: tagged, adopted, released on destroy.

A flexible IP keeps its address across stop/start (a dynamic IP does not), so a
migrated server keeps one public address for its whole life.
"""

from __future__ import annotations

from scaleway.instance.v1 import Ip, IpType

from vmware2scw.errors import ProviderError
from vmware2scw.provider import ApplyContext

from .adopt import address_tag, create_once, has_tags, object_tags, pick_one
from .client import ApiError, ScalewayClient, is_not_found


def list_tagged(api: ScalewayClient, zone: str, tag: str) -> list[Ip]:
    """Flexible IPs of the zone carrying ``tag`` (one paginated listing)."""
    items = api.instance.list_ips_all(zone=zone, tags=[tag], per_page=100)
    return [i for i in items if tag in i.tags]


def ensure_ip(api: ScalewayClient, zone: str, ctx: ApplyContext,
              user_tags: list[str] | None) -> Ip:
    """The routed IPv4 tagged with this address, reserved when absent."""

    def find() -> Ip | None:
        found = [i for i in list_tagged(api, zone, address_tag(ctx.tags))
                 if has_tags(i.tags, ctx.tags)]
        return pick_one(found, "flexible IP", ctx.address)

    def create() -> Ip:
        res = api.instance.create_ip(zone=zone, project=api.project_id,
                                     tags=object_tags(ctx.tags, user_tags),
                                     type_=IpType.ROUTED_IPV4)
        assert res.ip is not None
        return res.ip

    ip, _ = create_once(find, create, what="flexible IP",
                        address=ctx.address)
    return ip


def release_ips(api: ScalewayClient, zone: str, ctx: ApplyContext) -> None:
    """Delete every flexible IP tagged with this address (detached ones included)."""
    for ip in list_tagged(api, zone, address_tag(ctx.tags)):
        if not has_tags(ip.tags, ctx.tags):
            continue
        try:
            api.instance.delete_ip(zone=zone, ip=ip.id)
        except ApiError as exc:
            if not is_not_found(exc):
                raise ProviderError(f"cannot release flexible IP {ip.address}: {exc.message}",
                                    address=ctx.address) from None
