"""``guest_conversion``: the guest converted in place on the attached Block volumes.

The converter role's part of the ``block`` transport: one resource for the whole guest,
after every disk is synced, reading and writing the device paths (no copy).
"""

from __future__ import annotations

import hashlib
import shutil
import threading
from collections.abc import Sequence
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from v2s_qemu import bios2uefi, tools
from v2s_qemu.convert import ConversionError, ConvertOptions, Progress, _in_guest
from v2s_qemu.guestfish import GuestfishError, guestfs_env, session
from v2s_qemu.linux import UnsupportedGuest
from vmware2scw.config.interpolate import literal
from vmware2scw.errors import ProviderError
from vmware2scw.provider import (
    ApplyContext,
    ApplyRequest,
    Attrs,
    ComposeRequest,
    ComposeResponse,
    Handoff,
    PlanRequest,
    PlanResponse,
    ResourceSpec,
    ResourceType,
)


class GuestConversionConfig(BaseModel):
    """Desired attributes of ``guest_conversion`` (docs/resources.md)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    vm: str
    devices: list[str | None]  # None while planning: known once the volumes are attached
    disks_sha256: list[str | None]
    guest_family: str = "linux"
    firmware: str = "bios"
    network: str = "dhcp"


GUEST_CONVERSION = ResourceType(
    name="guest_conversion",
    kind="convert",
    force_new=frozenset({"vm", "devices", "disks_sha256", "guest_family", "firmware",
                         "network"}),
    computed=frozenset({"firmware_after", "changes"}),
    config_model=GuestConversionConfig,
    stage="convert",
)


def compose_in_place(req: ComposeRequest) -> ComposeResponse:
    """One ``guest_conversion`` on every synced device; the disks pass on unchanged."""
    convert = req.migration.get("convert") or {}
    addr = f"{req.module}.guest_conversion"
    attached = tuple(str(d["attachment"]) for d in req.upstream.disks if d.get("attachment"))
    spec = ResourceSpec(address=addr, type="guest_conversion",  # attached until it is done
                        depends_on=(*req.upstream.after, *attached),
                        attributes={
        "vm": literal(req.vm.name),
        "devices": [d["path"] for d in req.upstream.disks],
        "disks_sha256": [d["sha256"] for d in req.upstream.disks],
        "guest_family": literal(req.vm.guest_family),
        "firmware": literal(req.vm.firmware),
        "network": convert.get("network", "dhcp"),
    })  # fmt: skip
    return ComposeResponse(resources=(spec,),
                           handoff=Handoff(disks=req.upstream.disks, after=(addr,)))


def convert_in_place(devices: Sequence[Path], options: ConvertOptions, work: Path,
                     cache_dir: Path, progress: Progress | None = None,
                     cancelled: threading.Event | None = None) -> list[str]:
    """The Linux conversion (BIOS->UEFI included) on the devices themselves; the changes.

    The volume has room past the disk for the ESP, so the boot disk is never grown here.
    A rerun after a kill finds the ESP already added and redoes the in-guest steps.
    """
    report = progress or (lambda *_: None)

    def step(phase: str, message: str) -> None:
        if cancelled is not None and cancelled.is_set():
            raise ConversionError("conversion cancelled")
        report(phase, None, None, message)

    work.mkdir(parents=True, exist_ok=True)
    changes: list[str] = []
    try:
        esp = bios2uefi.read_layout(devices[0]).esp()
        esp_no, esp_uuid = (esp.number, "") if esp else (0, "")
        if not esp:
            step("partition", "BIOS -> UEFI: GPT and an EFI System Partition, in place")
            changes_esp, esp_no, esp_uuid = bios2uefi.add_esp(devices[0], options.seed)
            changes += changes_esp
        step("guest", "starting the libguestfs appliance on the attached volumes")
        env = guestfs_env(cache_dir, work / "tmp")
        with session(list(devices), env) as g:
            changes += _in_guest(g, work, options, esp_no, esp_uuid, step)
    except (UnsupportedGuest, bios2uefi.LayoutError, GuestfishError) as e:
        raise ConversionError(str(e)) from e
    finally:
        shutil.rmtree(work / "tmp", ignore_errors=True)
    return changes


def plan(req: PlanRequest) -> PlanResponse:
    """Validate; refuse what the in-place conversion cannot do; outputs known after apply."""
    _validated(req.address, req.desired)
    planned = dict(req.desired)
    computed = GUEST_CONVERSION.computed
    if req.prior is None:
        planned.update(dict.fromkeys(computed))
        return PlanResponse(planned=planned,
                            unknown=tuple(sorted({*req.desired_unknown, *computed})))
    planned.update({a: req.prior.get(a) for a in computed})
    return PlanResponse(planned=planned, unknown=tuple(sorted(req.desired_unknown)))


def _validated(address: str, attrs: Attrs) -> GuestConversionConfig:
    try:
        cfg = GuestConversionConfig.model_validate(
            {k: v for k, v in attrs.items() if k not in GUEST_CONVERSION.computed})
    except ValueError as e:
        raise ProviderError(f"invalid guest_conversion attributes: {e}", address=address) from None
    if cfg.guest_family != "linux":
        raise ProviderError(f"guest family {cfg.guest_family!r} is not converted in place yet",
                            address=address, hint="use transport: s3_import for this VM")
    return cfg


def apply(req: ApplyRequest, ctx: ApplyContext, work: Path, cache: Path) -> Attrs:
    """Convert the guest on the attached devices; the changes made."""
    cfg = _validated(req.address, req.planned)
    if None in cfg.devices or None in cfg.disks_sha256:
        raise ProviderError("guest_conversion applied before its disks were synced",
                            address=req.address)
    devices = [Path(str(d)) for d in cfg.devices]
    for d in devices:
        if not d.exists():
            raise ProviderError(f"device {d} is not there", address=req.address,
                                hint="re-run apply: the volume is attached again first")
    seed = "|".join([cfg.vm, *map(str, cfg.disks_sha256)])
    options = ConvertOptions(network=cfg.network, compress=False, firmware=cfg.firmware,
                             seed=seed)
    key = hashlib.sha256(seed.encode()).hexdigest()[:16]
    try:
        with tools.cancellable(ctx.cancelled):  # tools stop at once on a cancel
            changes = convert_in_place(devices, options, work / "in-place" / key, cache,
                                       ctx.progress, ctx.cancelled)
    except ConversionError as e:
        raise ProviderError(f"in-place conversion failed: {e}", address=req.address) from None
    return {**req.planned, "firmware_after": "efi", "changes": changes}
