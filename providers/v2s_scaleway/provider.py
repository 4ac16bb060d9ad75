"""The ``scaleway`` provider: s3_object, scw_snapshot, scw_image, scw_server.

Failure contracts (DESIGN §5): every object is created with the lineage and
address tags, and every create is preceded by a tag search, so an apply that
fails (or a process killed) after a create call leaves an object the next run
adopts. ``delete`` raises while the object still exists; absent objects are fine.
"""

from __future__ import annotations

import os
import threading
from collections import defaultdict
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from vmware2scw.diagnostics import Diagnostic, error, warning
from vmware2scw.errors import ProviderError
from vmware2scw.provider import (
    ApplyContext,
    ApplyRequest,
    ApplyResponse,
    Attrs,
    Blueprint,
    ComposeRequest,
    ComposeResponse,
    ConfigureRequest,
    ConfigureResponse,
    DeleteRequest,
    DeleteResponse,
    HandoffRequest,
    HandoffResponse,
    PlanRequest,
    PlanResponse,
    ReadRequest,
    ReadResponse,
    ResourceType,
)

from . import handoff as handoff_mod
from . import image as image_mod
from . import names, server_plan, volumes
from . import server as server_mod
from . import snapshot as snapshot_mod
from .adopt import address_tag, has_tags, tag_value
from .blueprint import BLUEPRINTS, COMPOSERS, PHASES
from .blueprint_block import auto_blueprint, chosen_host
from .catalogue import Catalogue, Offer
from .client import ScalewayClient
from .s3client import delete_object, ensure_bucket, list_prefix
from .s3client import make_s3_client as _make_s3
from .s3upload import SHA_META, Uploader
from .settings import (
    SENSITIVE_SETTINGS,
    Credentials,
    ScalewaySettings,
    parse_settings,
    region_of,
    resolve_credentials,
)
from .types import RESOURCE_TYPES


class ScalewayProvider:
    """Scaleway Object Storage + Block + Instance, through the official SDK and boto3."""

    name = "scaleway"
    settings_model = ScalewaySettings
    roles = frozenset({"target"})

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        self._environ = environ
        self._host: volumes.Host | bool | None = None
        self.settings = ScalewaySettings()
        self.lineage = ""
        self.work_dir = Path()
        self._creds: Credentials | None = None
        self._api: ScalewayClient | None = None
        self._s3: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._catalogue: Catalogue | None = None
        self.tcp_targets: server_mod.TcpProbe = server_mod.default_tcp_targets  # lab hook

    # --- set-up ----------------------------------------------------------------------------

    def resource_types(self) -> Mapping[str, ResourceType]:
        return RESOURCE_TYPES

    def blueprints(self) -> tuple[Blueprint, ...]:
        """The fixed blueprints, and ``auto``: block on a migration host, else s3_import."""
        return (*BLUEPRINTS, auto_blueprint(self.host()))

    def compose(self, req: ComposeRequest) -> ComposeResponse:
        """The target's steps: volumes and launch (block), or upload, import, image, server."""
        if req.phase not in PHASES:
            raise ProviderError(f"the scaleway provider cannot compose phase {req.phase!r}")
        resp = COMPOSERS[req.phase](req)
        host = self.host()
        if req.blueprint.transport == "auto" and req.phase == "volumes" and host is not None:
            return chosen_host(req, resp, host)
        return resp

    def configure(self, req: ConfigureRequest) -> ConfigureResponse:
        """Validate settings and resolve credentials; no network call is made here."""
        self.settings = parse_settings(req.settings)
        self.lineage = req.lineage
        self.work_dir = req.work_dir
        self._creds = resolve_credentials(self.settings, self._environ)
        if self.settings.verify_tcp_resolver:
            secret = self._creds.secret_key
            auth = (self._creds.api_url, secret.get_secret_value()) if secret else None
            self.tcp_targets = server_mod.resolver_targets(self.settings.verify_tcp_resolver,
                                                           auth=auth)
        diags: list[Diagnostic] = []
        if not self._creds.secret_key:
            diags.append(warning(
                "no Scaleway credentials found",
                "Set secret_key/access_key in the provider block, SCW_SECRET_KEY/SCW_ACCESS_KEY, "
                "or a profile in ~/.config/scw/config.yaml; plan and apply need them.",
            ))
        return ConfigureResponse(diagnostics=tuple(diags))

    @property
    def creds(self) -> Credentials:
        if self._creds is None:
            self._creds = resolve_credentials(self.settings, self._environ)
        return self._creds

    @property
    def api(self) -> ScalewayClient:
        with self._lock:
            if self._api is None:
                self._api = ScalewayClient(self.creds, self.settings)
            return self._api

    @property
    def catalogue(self) -> Catalogue:
        with self._lock:
            if self._catalogue is None:
                self._catalogue = Catalogue(self._fetch_offers)
            return self._catalogue

    def _fetch_offers(self, zone: str) -> dict[str, Offer]:
        from .catalogue import fetch_offers

        return fetch_offers(self.api, zone)

    def s3(self, region: str) -> Any:
        """One boto3 client per region (clients are thread-safe)."""
        with self._lock:
            if region not in self._s3:
                st = self.settings
                secret = self.creds.secret_key
                verify: bool | str = str(st.ca_bundle) if st.ca_bundle else st.verify_tls
                self._s3[region] = _make_s3(
                    region=region, endpoint=st.s3_endpoint, access_key=self.creds.access_key,
                    secret_key=secret.get_secret_value() if secret else None, verify=verify,
                    request_checksum_calculation=st.request_checksum_calculation,
                    response_checksum_validation=st.response_checksum_validation,
                    addressing_style=st.s3_addressing_style,
                    max_pool=max(16, st.upload_concurrency * 8),
                    connect_timeout=st.connect_timeout, read_timeout=st.read_timeout,
                )
            return self._s3[region]

    def suggest_type(self, cpus: int, memory_mb: int, *, zone: str | None = None,
                     windows: bool = False) -> Offer | None:
        """Cheapest type that fits a VM (for `v2s inventory`'s starter config)."""
        return self.catalogue.suggest(zone or self.creds.zone, cpus, memory_mb, windows=windows)

    def catalogue_map(self, zone: str | None = None) -> dict[str, dict[str, Any]]:
        """The catalogue as the products/servers map (name -> ncpus, ram, arch, prices, …),
        current Block-capable non-GPU types only: the shape `v2s inventory`'s starter takes."""
        return {
            o.name: {"ncpus": o.ncpus, "ram": o.ram_bytes, "arch": o.arch,
                     "monthly_price": o.monthly_price, "hourly_price": o.hourly_price}
            for o in self.catalogue.offers(zone or self.creds.zone).values()
            if o.block_storage and not o.end_of_service and not o.gpu
        }

    # --- hand-off ----------------------------------------------------------------------------

    def handoff_types(self) -> frozenset[str]:
        return frozenset({"scw_server"})

    def handoff(self, req: HandoffRequest) -> HandoffResponse:
        """Each server read from the API, then mapped to Terraform resources (read-only)."""
        resources = []
        for record in req.records:
            if record.type != "scw_server":
                raise ProviderError(f"{record.type} cannot be handed off", address=record.address)
            resources += handoff_mod.to_iac(record, handoff_mod.observe(self.api, record))
        return HandoffResponse(required_providers=handoff_mod.REQUIRED_PROVIDERS,
                               resources=tuple(resources), notes=handoff_mod.NOTES)

    def close(self) -> None:
        if self._api is not None:
            self._api.close()
        self._s3.clear()

    def __repr__(self) -> str:
        return f"ScalewayProvider(zone={self._creds.zone if self._creds else None!r})"

    # --- helpers ---------------------------------------------------------------------------

    def _zone(self, attrs: Mapping[str, Any]) -> str:
        return str(attrs.get("zone") or self.creds.zone)

    def _region(self, attrs: Mapping[str, Any]) -> str:
        return str(attrs.get("region") or region_of(self._zone(attrs)))

    def _bucket(self, attrs: Mapping[str, Any], address: str) -> str:
        bucket = attrs.get("bucket") or self.settings.transit_bucket
        if not bucket:
            raise ProviderError("no bucket for the upload", address=address,
                                hint="set transit_bucket in the scaleway provider block")
        return str(bucket)

    # --- read ------------------------------------------------------------------------------

    def read(self, req: ReadRequest) -> ReadResponse:
        """One paginated listing per type and zone (or bucket), filtered by the lineage tag;
        and the instance catalogue of every zone a server will be planned in."""
        diags = self._read_catalogues(req)
        out: dict[str, Attrs | None] = {}
        groups: dict[tuple[str, str], list[Any]] = defaultdict(list)
        for ref in req.resources:
            where = (self._bucket(ref.attributes, ref.address) if ref.type == "s3_object"
                     else self._zone(ref.attributes))
            groups[(ref.type, where)].append(ref)
        lineage_tag = f"v2s-lineage={self.lineage}"
        for (typ, where), refs in groups.items():
            if typ == "s3_object":
                prefixes = {str(r.attributes.get("key", "")).split("/", 1)[0] for r in refs}
                objects: dict[str, dict[str, Any]] = {}
                s3 = self.s3(self._region(refs[0].attributes))
                for prefix in sorted(prefixes):
                    objects.update(list_prefix(s3, where, f"{prefix}/" if prefix else ""))
                for r in refs:
                    obj = objects.get(str(r.attributes.get("key")))
                    out[r.address] = None if obj is None else {
                        **r.attributes, "etag": obj.get("ETag"), "size": obj.get("Size")}
                continue
            listing: list[Any]
            if typ == "scw_snapshot":
                listing = snapshot_mod.list_tagged(self.api, where, lineage_tag)
                to_attrs: Any = snapshot_mod.attrs_of
            elif typ == "scw_image":
                listing = image_mod.list_tagged(self.api, where, lineage_tag)
                to_attrs = image_mod.attrs_of
            elif typ == "scw_server":
                listing = server_mod.list_tagged(self.api, where, lineage_tag)
                to_attrs = server_mod.attrs_of
            elif typ == "scw_volume":
                listing = volumes.list_tagged(self.api, where, lineage_tag)
                to_attrs = volumes.attrs_of
            elif typ == "volume_attachment":
                for r in refs:
                    out[r.address] = volumes.read_attachment(self.api, r.attributes)
                continue
            else:
                raise ProviderError(f"unknown resource type {typ}")
            by_id = {o.id: o for o in listing}
            by_addr = {tag_value(o.tags, "v2s-address"): o for o in listing}
            for r in refs:
                obj = by_id.get(r.attributes.get("id")) or by_addr.get(r.address)
                out[r.address] = None if obj is None else self._merge(r.attributes, to_attrs(obj))
        return ReadResponse(attributes=out, diagnostics=tuple(diags))

    def _read_catalogues(self, req: ReadRequest) -> list[Diagnostic]:
        zones = sorted({self._zone(r.attributes) for r in (*req.planned, *req.resources)
                        if r.type == "scw_server" and "${" not in str(r.attributes.get("zone"))})
        for zone in zones:
            try:
                self.catalogue.offers(zone)
            except ProviderError as exc:
                return [warning(f"instance catalogue of {zone} unavailable: types not "
                                "checked, prices not shown", exc.message)]
        return []

    @staticmethod
    def _merge(prior: Attrs, observed: Attrs) -> Attrs:
        """Prior attributes updated with what the API shows (only keys v2s tracks)."""
        merged = dict(prior)
        for k, v in observed.items():
            if k in prior or k in {"id", "state", "status"}:
                merged[k] = v
        return merged

    # --- plan ------------------------------------------------------------------------------

    def plan(self, req: PlanRequest) -> PlanResponse:
        rtype = RESOURCE_TYPES.get(req.type)
        if rtype is None:
            raise ProviderError(f"the scaleway provider has no type {req.type}",
                                address=req.address)
        unknown = set(req.desired_unknown)
        diags: list[Diagnostic] = []
        desired = dict(req.desired)
        if req.type == "scw_server":
            desired, more = server_plan.resolve_networks(
                desired, self.settings.drop_unmapped_nics, req.address)
            diags += more
        planned = dict(desired)
        new = req.prior is None  # a replace is planned from no prior (the planner decides it)
        for attr in rtype.computed:
            if new:
                planned[attr] = None
                unknown.add(attr)
            else:
                planned[attr] = req.prior.get(attr) if req.prior else None
        name = planned.get("name")
        if isinstance(name, str) and "name" not in unknown:  # a name built from a reference
            limit = names.SERVER_MAX if req.type == "scw_server" else names.OBJECT_MAX
            why = names.problem(name, limit=limit, what=f"the {req.type} name")
            if why:
                diags.append(error(why, "change target.name", address=req.address))
        if req.type == "scw_server":
            diags += server_plan.notes(self.catalogue, self._zone(planned), req.address,
                                       req.prior, planned, unknown, new)
        return PlanResponse(planned=planned, unknown=tuple(sorted(unknown)),
                            diagnostics=tuple(diags))

    # --- apply / delete --------------------------------------------------------------------

    def apply(self, req: ApplyRequest, ctx: ApplyContext) -> ApplyResponse:
        try:
            return self._apply(req, ctx)
        except ProviderError as exc:
            exc.address = exc.address or ctx.address
            raise

    def delete(self, req: DeleteRequest, ctx: ApplyContext) -> DeleteResponse:
        try:
            return self._delete(req, ctx)
        except ProviderError as exc:
            exc.address = exc.address or ctx.address
            raise

    def _apply(self, req: ApplyRequest, ctx: ApplyContext) -> ApplyResponse:
        p = dict(req.planned)
        st = self.settings
        if req.type == "s3_object":
            bucket, region = self._bucket(p, ctx.address), self._region(p)
            s3 = self.s3(region)
            ensure_bucket(s3, bucket, region)
            res = Uploader(
                s3, path=Path(str(p["source_path"])), bucket=bucket, key=str(p["key"]), ctx=ctx,
                checkpoint=req.checkpoint, concurrency=st.upload_concurrency,
                part_size=st.part_size_mib * 1024 * 1024 if st.part_size_mib else None,
                metadata={"v2s-lineage": self.lineage, "v2s-address": ctx.address},
                expected_sha256=p.get("source_sha256") or None,
            ).run()
            attrs = {**p, "bucket": bucket, "region": region, "etag": res.etag,
                     "size": res.size, "sha256": res.sha256, "upload_id": res.upload_id}
        elif req.type == "scw_snapshot":
            p.setdefault("bucket", st.transit_bucket)
            attrs = snapshot_mod.apply_snapshot(self.api, st, p, ctx, req.checkpoint)
        elif req.type == "scw_image":
            attrs = image_mod.apply_image(self.api, st, p, ctx)
        elif req.type == "scw_server":
            p, _ = server_plan.resolve_networks(p, st.drop_unmapped_nics, ctx.address)
            attrs = server_mod.apply_server(self.api, st, self.catalogue, p, req.prior, ctx,
                                            self.tcp_targets)
        elif req.type == "scw_volume":
            attrs = volumes.apply_volume(self.api, st, p, ctx)
        elif req.type == "volume_attachment":
            attrs = volumes.attach(self.api, st, self.host(), p, ctx)
        else:
            raise ProviderError(f"unknown resource type {req.type}", address=ctx.address)
        return ApplyResponse(attributes=attrs)

    def host(self) -> volumes.Host | None:
        """The migration host this process runs on (asked once)."""
        if self._host is None:
            self._host = volumes.migration_host(self._environ or os.environ) or False
        return self._host if isinstance(self._host, volumes.Host) else None

    def _delete(self, req: DeleteRequest, ctx: ApplyContext) -> DeleteResponse:
        p = dict(req.prior)
        if req.type == "s3_object":
            bucket = self._bucket(p, ctx.address)
            delete_object(self.s3(self._region(p)), bucket, str(p["key"]), ctx.address)
        elif req.type == "scw_server":
            if not p.get("id") and req.checkpoint:
                p["id"] = req.checkpoint.get("id")
            server_mod.delete_server(self.api, self.settings, p, ctx)
        elif req.type in {"scw_volume", "volume_attachment"}:
            vid = str(p.get("volume_id") or p.get("id") or (req.checkpoint or {}).get("id") or "")
            host = str(p.get("server_id") or (req.checkpoint or {}).get("server_id") or "") \
                if req.type == "volume_attachment" else ""
            if vid and "${" not in vid and (host or req.type == "scw_volume"):
                volumes.detach(self.api, self.settings, self._zone(p), vid, ctx, only_from=host)
                if req.type == "scw_volume":
                    server_mod.delete_volume(self.api, self.settings, self._zone(p), vid, ctx)
        elif req.type in {"scw_snapshot", "scw_image"}:
            zone = self._zone(p)
            mod: Any = snapshot_mod if req.type == "scw_snapshot" else image_mod
            ids = {str(i) for i in (p.get("id"), (req.checkpoint or {}).get("id")) if i}
            ids |= {o.id for o in mod.list_tagged(self.api, zone, address_tag(ctx.tags))
                    if has_tags(o.tags, ctx.tags)}
            for obj_id in sorted(ids):
                if req.type == "scw_snapshot":
                    snapshot_mod.delete_snapshot(self.api, zone, obj_id, ctx.address)
                else:
                    image_mod.delete_image(self.api, zone, obj_id, ctx.address)
        else:
            raise ProviderError(f"unknown resource type {req.type}", address=ctx.address)
        return DeleteResponse()


__all__ = ["RESOURCE_TYPES", "SENSITIVE_SETTINGS", "SHA_META", "ScalewayProvider"]
