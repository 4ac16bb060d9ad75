"""What v2s created for a migrated server, as Terraform resources of `scaleway/scaleway`.

Two steps: ``observe`` reads the server and what belongs to it (Block volumes, flexible
IP, private NICs) from the API, so the files match the objects as they are now; ``to_iac``
maps that to resources and import IDs, following the provider's docs
(docs/resources/instance_server.md, block_volume.md, instance_ip.md,
instance_private_nic.md). Every argument written is one the provider reads back on
import, with the value it will read, so `terraform plan` shows only imports.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from vmware2scw.errors import ProviderError
from vmware2scw.provider import Expr, HandoffRecord, IacResource

from .client import ApiError, ScalewayClient, is_not_found
from .settings import region_of

REQUIRED_PROVIDERS = {"scaleway": {"source": "scaleway/scaleway", "version": "~> 2.49"}}
NOTES = (
    "Credentials: the `scaleway` Terraform provider reads SCW_ACCESS_KEY, SCW_SECRET_KEY "
    "and SCW_DEFAULT_PROJECT_ID (or ~/.config/scw/config.yaml), as v2s does.",
    "The migration image and its Block snapshots stay with v2s (`v2s destroy` removes "
    "them): volumes made from one are described by size and ignore `snapshot_id`.",
    "Servers ignore `image` (they boot from the imported root volume), `ip_id` (the "
    "provider reads it back only once configured, and setting it would detach and "
    "re-attach the IP) and `private_network` (the NICs are their own resources).",
    "Security groups are referenced by ID, never imported: v2s attached one it did not "
    "create, and its owner keeps managing it.",
    "The provider does not read `replace_on_type_change` back on import: `terraform plan` "
    "may show it as an in-place update to its default (`false`), which changes nothing in "
    "the cloud. Any other change: do not apply.",
)
_STATE = {"running": "started", "starting": "started", "stopped": "stopped",
          "stopping": "stopped", "stopped in place": "standby"}


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Volume(_Frozen):
    id: str
    name: str
    size_bytes: int
    iops: int | None
    tags: tuple[str, ...] = ()
    snapshot_id: str | None = None  # the Block snapshot it was made from


class PublicIp(_Frozen):
    id: str
    address: str
    type: str = "routed_ipv4"
    tags: tuple[str, ...] = ()
    dynamic: bool = False


class Nic(_Frozen):
    id: str
    private_network_id: str
    tags: tuple[str, ...] = ()


class Observed(_Frozen):
    """The server and its objects as the API shows them."""

    id: str
    zone: str
    name: str
    commercial_type: str
    state: str
    tags: tuple[str, ...] = ()
    security_group_id: str | None = None
    volumes: tuple[Volume, ...] = ()  # root first, in the server's volume order
    public_ips: tuple[PublicIp, ...] = ()
    nics: tuple[Nic, ...] = ()


def observe(api: ScalewayClient, record: HandoffRecord) -> Observed:
    """Read the server of ``record`` and what belongs to it (ProviderError if it is gone)."""
    zone = str(record.attributes.get("zone") or api.creds.zone)
    sid = str(record.attributes.get("id") or "")
    srv = None
    if sid:
        try:
            srv = api.instance.get_server(zone=zone, server_id=sid).server
        except ApiError as exc:
            if not is_not_found(exc):
                raise
    if srv is None:
        raise ProviderError(f"server {sid or '(no id)'} no longer exists in {zone}",
                            address=record.address,
                            hint="run `v2s plan`: the migration must be applied again first")
    volumes = []
    for _key, ref in sorted(srv.volumes.items(), key=lambda kv: int(kv[0])):
        vol = api.block.get_volume(volume_id=ref.id, zone=zone)
        volumes.append(Volume(
            id=vol.id, name=vol.name, size_bytes=int(vol.size or 0),
            iops=vol.specs.perf_iops if vol.specs else None, tags=tuple(vol.tags or ()),
            snapshot_id=vol.parent_snapshot_id or None))
    ips = []
    for sip in srv.public_ips or []:
        if sip.dynamic:
            ips.append(PublicIp(id=sip.id, address=str(sip.address), dynamic=True))
            continue
        ip = api.instance.get_ip(ip=sip.id, zone=zone).ip
        ips.append(PublicIp(id=ip.id, address=str(ip.address), type=str(ip.type_),
                            tags=tuple(ip.tags or ())))
    nics = [Nic(id=n.id, private_network_id=n.private_network_id, tags=tuple(n.tags or ()))
            for n in api.instance.list_private_ni_cs_all(server_id=srv.id, zone=zone)]
    return Observed(
        id=srv.id, zone=zone, name=srv.name, commercial_type=srv.commercial_type,
        state=str(srv.state), tags=tuple(srv.tags or ()),
        security_group_id=srv.security_group.id if srv.security_group else None,
        volumes=tuple(volumes), public_ips=tuple(ips), nics=tuple(nics))


def _ref(type_: str, name: str) -> Expr:
    return Expr(text=f"{type_}.{name}.id")


def to_iac(record: HandoffRecord, obs: Observed) -> list[IacResource]:
    """The resources of one migrated server: volumes, public IP, server, private NICs."""
    zone, n, where = obs.zone, record.name, record.address
    out: list[IacResource] = []
    vol_refs: list[Expr] = []
    for k, vol in enumerate(obs.volumes):
        out.append(block_volume(f"{n}_disk{k}", zone, vol, where, root=k == 0))
        vol_refs.append(_ref("scaleway_block_volume", f"{n}_disk{k}"))
    server_args: dict[str, Any] = {
        "name": obs.name, "type": obs.commercial_type, "zone": zone,
        "state": _STATE.get(obs.state, "started"), "tags": list(obs.tags) or None,
    }
    if record.attributes.get("security_group") and obs.security_group_id:
        server_args["security_group_id"] = f"{zone}/{obs.security_group_id}"
    flexible = [ip for ip in obs.public_ips if not ip.dynamic]
    for k, ip in enumerate(flexible):
        name = n if k == 0 else f"{n}_ip{k}"
        out.append(IacResource(
            type="scaleway_instance_ip", name=name, import_id=f"{zone}/{ip.id}", address=where,
            arguments={"type": ip.type, "zone": zone, "tags": list(ip.tags) or None},
            comment=f"public IP {ip.address} of {where}"))
    ip_refs = [_ref("scaleway_instance_ip", n if k == 0 else f"{n}_ip{k}")
               for k in range(len(flexible))]
    if len(ip_refs) == 1:
        server_args["ip_id"] = ip_refs[0]
    elif ip_refs:
        server_args["ip_ids"] = ip_refs
    if any(ip.dynamic for ip in obs.public_ips):
        server_args["enable_dynamic_ip"] = True
    if len(vol_refs) > 1:
        server_args["additional_volume_ids"] = vol_refs[1:]
    ignore = [Expr(text="image")]
    if ip_refs:  # read back only when already configured: empty after an import
        ignore.append(Expr(text="ip_id" if len(ip_refs) == 1 else "ip_ids"))
    if obs.nics:
        ignore.append(Expr(text="private_network"))
    blocks: list[tuple[str, dict[str, Any]]] = []
    if vol_refs:
        blocks.append(("root_volume", {"volume_id": vol_refs[0]}))
    blocks.append(("lifecycle", {"ignore_changes": ignore}))
    out.append(IacResource(
        type="scaleway_instance_server", name=n, import_id=f"{zone}/{obs.id}", address=where,
        arguments=server_args, blocks=tuple(blocks),
        comment=f"{where}: the migrated server"))
    region = region_of(zone)
    for k, nic in enumerate(obs.nics):
        out.append(IacResource(
            type="scaleway_instance_private_nic", name=f"{n}_nic{k}", address=where,
            import_id=f"{zone}/{obs.id}/{nic.id}",
            arguments={"server_id": _ref("scaleway_instance_server", n),
                       "private_network_id": f"{region}/{nic.private_network_id}",
                       "zone": zone, "tags": list(nic.tags) or None},
            comment=f"private NIC {k} of {where}"))
    return out


def block_volume(name: str, zone: str, vol: Volume, address: str, *, root: bool
                 ) -> IacResource:
    """A Block volume by its size; one made from a snapshot ignores `snapshot_id`.

    The provider takes exactly one of `size_in_gb` and `snapshot_id` and reads back the
    parent snapshot, which stays with v2s (and may be deleted): ignoring it keeps the
    volume from being replaced, and the size is what matters from now on."""
    size_gb = vol.size_bytes // 1_000_000_000
    args: dict[str, Any] = {"name": vol.name, "iops": vol.iops, "size_in_gb": size_gb,
                            "zone": zone, "tags": list(vol.tags) or None}
    blocks: tuple[tuple[str, dict[str, Any]], ...] = ()
    what = "root volume" if root else "data volume"
    comment = f"{what} of {address}"
    if vol.snapshot_id:
        blocks = (("lifecycle", {"ignore_changes": [Expr(text="snapshot_id")]}),)
        comment += f", made from Block snapshot {zone}/{vol.snapshot_id} (kept by v2s)"
    return IacResource(type="scaleway_block_volume", name=name, arguments=args, blocks=blocks,
                       import_id=f"{zone}/{vol.id}", address=address, comment=comment)
