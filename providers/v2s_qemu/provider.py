"""The `qemu` provider: ``qcow2_artifact`` — one VM's exported disks, converted to boot on Scaleway.

All artifacts of one VM share one conversion (the guest spans every disk: /var on
disk 1 holds the package database the tools removal changes): the first apply runs
it under a lock into ``<work>/conversions/<key>/`` and the others reuse it. A key is
the hash of every input, so the same inputs never convert twice. Files are written
under temporary names and renamed only after the checks (and ``verify_boot``)
passed: an artifact path that exists is complete.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from v2s_qemu import inplace, qcow2, tools
from v2s_qemu.blueprint import PHASES, compose_convert
from v2s_qemu.bootcheck import CANCELLED, boot_check
from v2s_qemu.convert import ConversionError, ConvertOptions, convert_vm
from v2s_qemu.inplace import GUEST_CONVERSION, compose_in_place
from v2s_qemu.types import COMPUTED, RESOURCE_TYPES, Qcow2ArtifactConfig
from v2s_qemu.windows import convert_windows
from vmware2scw.errors import ProviderError, TransientError
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
    PlanRequest,
    PlanResponse,
    ReadRequest,
    ReadResponse,
    ResourceType,
)
from vmware2scw.wording import plural

CONVERTER_VERSION = "1"  # bump when the guest changes a conversion makes change


class QemuSettings(BaseModel):
    """``providers: qemu:`` settings."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    work_dir: Path | None = None  # conversions and artifacts (default: <state work dir>/qemu)
    virtio_win_iso: Path | None = None  # needed for Windows guests
    verify_timeout: float = Field(default=900.0, gt=0)  # seconds per verify boot
    guestfs_cache_dir: Path | None = None


class QemuProvider:
    """Converts exported disks into Scaleway-ready qcow2 files on the local machine."""

    name = "qemu"
    settings_model: type[BaseModel] | None = QemuSettings
    roles = frozenset({"converter"})

    def __init__(self) -> None:
        self.settings = QemuSettings()
        self.work = Path(".v2s/qemu")

    def resource_types(self) -> Mapping[str, ResourceType]:
        return {**RESOURCE_TYPES, "guest_conversion": GUEST_CONVERSION}

    def blueprints(self) -> tuple[Blueprint, ...]:
        return ()

    def compose(self, req: ComposeRequest) -> ComposeResponse:
        """The converter step (phase ``convert``): one qcow2 artifact per disk."""
        if req.phase == "convert_in_place":
            return compose_in_place(req)
        if req.phase not in PHASES:
            raise ProviderError(f"the qemu provider cannot compose phase {req.phase!r}")
        return compose_convert(req)

    def configure(self, req: ConfigureRequest) -> ConfigureResponse:
        try:
            self.settings = QemuSettings.model_validate(req.settings)
        except ValueError as e:
            raise ProviderError(f"invalid qemu provider settings: {e}") from None
        self.work = self.settings.work_dir or (req.work_dir / "qemu")
        iso = self.settings.virtio_win_iso
        if iso is not None and not iso.is_file():
            raise ProviderError(
                f"virtio_win_iso {iso} does not exist",
                hint="download virtio-win.iso (Fedora virtio-win) and give its path",
            )
        return ConfigureResponse()

    # --- read ----------------------------------------------------------------------------

    def read(self, req: ReadRequest) -> ReadResponse:
        """An artifact exists while its file does, with the size recorded at apply."""
        out: dict[str, Attrs | None] = {}
        for ref in req.resources:
            if ref.type == "guest_conversion":  # changes made on volumes: as recorded
                out[ref.address] = dict(ref.attributes)
                continue
            path = ref.attributes.get("path")
            ok = isinstance(path, str) and Path(path).is_file()
            if ok and ref.attributes.get("size") is not None:
                ok = Path(str(path)).stat().st_size == ref.attributes["size"]
            out[ref.address] = dict(ref.attributes) if ok else None
        return ReadResponse(attributes=out)

    # --- plan ----------------------------------------------------------------------------

    def plan(self, req: PlanRequest) -> PlanResponse:
        """Validate; refuse what cannot convert; outputs unknown until apply."""
        if req.type == "guest_conversion":
            return inplace.plan(req)
        cfg = _config(req.address, req.desired)
        self._refuse_unsupported(req.address, cfg)
        unknown = set(req.desired_unknown)
        planned = dict(req.desired)
        if req.prior is None:  # a replace is planned from no prior (the planner decides it)
            planned.update(dict.fromkeys(COMPUTED))
            unknown |= COMPUTED
        else:
            planned.update({a: req.prior.get(a) for a in COMPUTED})
        return PlanResponse(planned=planned, unknown=tuple(sorted(unknown)))

    def _refuse_unsupported(self, address: str, cfg: Qcow2ArtifactConfig) -> None:
        if cfg.guest_family == "windows" and self.settings.virtio_win_iso is None:
            raise ProviderError(
                "a Windows guest needs the virtio drivers to boot on Scaleway",
                address=address,
                hint="set providers.qemu.virtio_win_iso to the path of virtio-win.iso",
            )
        if cfg.guest_family == "windows" and len(cfg.disks) > 1:
            raise ProviderError(
                "Windows guests with more than one disk are not converted yet",
                address=address,
                hint="migrate the system disk alone, or convert this VM by hand with virt-v2v",
            )
        if cfg.guest_family not in ("linux", "windows"):
            raise ProviderError(
                f"guest family {cfg.guest_family!r} cannot be converted to boot on Scaleway",
                address=address,
                hint="only Linux (Debian/Ubuntu) and Windows (with virtio-win) are supported",
            )
        if cfg.firmware not in ("bios", "efi"):
            raise ProviderError(f"firmware {cfg.firmware!r} unknown", address=address)
        if cfg.network not in ("dhcp", "keep"):
            raise ProviderError(
                f"network {cfg.network!r} unknown", address=address, hint="use dhcp or keep"
            )
        if cfg.disk_index >= len(cfg.disks):
            raise ProviderError(
                f"disk_index {cfg.disk_index} but only {plural(len(cfg.disks), 'disk')}",
                address=address,
            )

    # --- apply ---------------------------------------------------------------------------

    def apply(self, req: ApplyRequest, ctx: ApplyContext) -> ApplyResponse:
        """Convert (or reuse the conversion of) the VM; return disk ``disk_index``'s artifact."""
        if req.type == "guest_conversion":
            cache = self.settings.guestfs_cache_dir or (self.work / "guestfs-cache")
            return ApplyResponse(attributes=inplace.apply(req, ctx, self.work, cache))
        cfg = _config(req.address, req.planned)
        self._refuse_unsupported(req.address, cfg)
        disks = [Path(str(d)) for d in cfg.disks]
        for d in disks:
            if not d.is_file():
                raise ProviderError(
                    f"exported disk {d} is missing", address=req.address,
                    hint="re-run apply: the disk export is redone when its file is gone",
                )  # fmt: skip
        key = conversion_key(cfg)
        conv_dir = self.work / "conversions" / key
        with _locked(self.work / "conversions" / f"{key}.lock"):
            result = _load_result(conv_dir)
            if result is None:
                ctx.checkpoint({"conversion": key})  # a rerun finds (or redoes) this one
                result = self._convert(req.address, cfg, disks, conv_dir, ctx)
        k = cfg.disk_index
        path = conv_dir / f"disk{k}.qcow2"
        disk = result["disks"][k]
        changes = result["changes"] if k == 0 else [
            f"disk {k}: converted to qcow2 (guest changes are listed on disk 0)"
        ]  # fmt: skip
        return ApplyResponse(
            attributes={
                **req.planned,
                "path": str(path),
                "size": disk["size"],
                "virtual_size": disk["virtual_size"],
                "sha256": disk["sha256"],
                "format": "qcow2",
                "changes": list(changes),
            }
        )

    def _convert(
        self,
        address: str,
        cfg: Qcow2ArtifactConfig,
        disks: list[Path],
        conv_dir: Path,
        ctx: ApplyContext,
    ) -> dict[str, Any]:
        shutil.rmtree(conv_dir, ignore_errors=True)
        conv_dir.mkdir(parents=True, exist_ok=True)
        parts = [conv_dir / f"disk{k}.qcow2.part" for k in range(len(disks))]
        options = ConvertOptions(
            network=cfg.network, compress=cfg.compress, firmware=cfg.firmware,
            seed=guest_seed(cfg.vm, [str(d) for d in cfg.disks], cfg.disk_sha256),
        )  # fmt: skip
        cache = self.settings.guestfs_cache_dir or (self.work / "guestfs-cache")
        try:
            with tools.cancellable(ctx.cancelled):
                if cfg.guest_family == "windows":
                    assert self.settings.virtio_win_iso is not None
                    changes = convert_windows(
                        disks[0], parts[0], self.settings.virtio_win_iso, conv_dir / "work",
                        cache, cfg.compress,
                    )  # fmt: skip
                else:
                    res = convert_vm(disks, parts, options, conv_dir / "work", cache,
                                     ctx.progress, ctx.cancelled)
                    changes = list(res.changes)
                if cfg.verify_boot:
                    self._verify(address, parts, ctx)
                    changes.append("verified: boots under OVMF + virtio-scsi + virtio-net")
        except ConversionError as e:
            shutil.rmtree(conv_dir, ignore_errors=True)
            raise ProviderError(
                f"conversion failed: {e}", address=address,
                hint="see docs/troubleshooting.md (boot, network, UEFI)",
            ) from None  # fmt: skip
        except BaseException:
            shutil.rmtree(conv_dir, ignore_errors=True)
            raise
        finally:
            shutil.rmtree(conv_dir / "work", ignore_errors=True)
        ctx.progress("checksum", None, None, "sha256 of the qcow2 files")
        facts = []
        for part in parts:
            data = qcow2.info(part)
            facts.append(
                {"size": part.stat().st_size, "virtual_size": int(data["virtual-size"]),
                 "sha256": qcow2.sha256(part)}
            )  # fmt: skip
        for part in parts:
            part.rename(part.with_suffix(""))  # disk{k}.qcow2.part -> disk{k}.qcow2
        result = {"disks": facts, "changes": changes}
        tmp = conv_dir / "result.json.part"
        tmp.write_text(json.dumps(result, indent=1) + "\n")
        tmp.rename(conv_dir / "result.json")  # the conversion is complete from here on
        return result

    def _verify(self, address: str, parts: list[Path], ctx: ApplyContext) -> None:
        ctx.progress("verify", None, None, "booting the converted disks (OVMF, virtio-scsi)")
        r = boot_check(
            parts, "scaleway", timeout=self.settings.verify_timeout, require_login=True,
            on_progress=lambda line: ctx.progress("verify", None, None, line),
            cancelled=ctx.cancelled,
        )  # fmt: skip
        if r.reason == CANCELLED:
            raise TransientError("cancelled during the verify boot", address=address)
        if not r.ok:
            raise ConversionError(
                f"verify boot failed ({r.reason}, {r.seconds:.0f} s); console tail:\n{r.tail()}"
            )

    # --- delete --------------------------------------------------------------------------

    def delete(self, req: DeleteRequest, ctx: ApplyContext) -> DeleteResponse:
        """Remove the artifact file; the conversion folder goes with its last artifact."""
        path = req.prior.get("path") if req.type == "qcow2_artifact" else None
        if isinstance(path, str):
            p = Path(path)
            p.unlink(missing_ok=True)
            conv_dir = p.parent
            if conv_dir.is_dir() and not any(conv_dir.glob("disk*.qcow2")):
                shutil.rmtree(conv_dir, ignore_errors=True)
        return DeleteResponse()

    def close(self) -> None:
        return None


def _config(address: str, attrs: Attrs) -> Qcow2ArtifactConfig:
    known = {k: v for k, v in attrs.items() if k not in COMPUTED}
    try:
        return Qcow2ArtifactConfig.model_validate(known)
    except ValueError as e:
        raise ProviderError(f"invalid qcow2_artifact attributes: {e}", address=address) from None


def conversion_key(cfg: Qcow2ArtifactConfig) -> str:
    """Hash of everything that shapes the VM's conversion (not the disk index)."""
    data = cfg.model_dump(exclude={"disk_index"})
    data["converter"] = CONVERTER_VERSION
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:24]


def guest_seed(vm: str, disks: list[str], disk_sha256: str | None) -> str:
    """Seed of generated guest ids (ESP volume id): same source disks, same ids."""
    return hashlib.sha256(json.dumps([vm, disks, disk_sha256]).encode()).hexdigest()


def _load_result(conv_dir: Path) -> dict[str, Any] | None:
    """A finished conversion (result.json and every disk present), else None."""
    try:
        result: dict[str, Any] = json.loads((conv_dir / "result.json").read_text())
    except (OSError, ValueError):
        return None
    for k in range(len(result["disks"])):
        if not (conv_dir / f"disk{k}.qcow2").is_file():
            return None
    return result


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)
