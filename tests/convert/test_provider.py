"""The qemu provider: plan-time refusals, atomic artifacts, idempotent conversions."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from v2s_qemu.provider import QemuProvider

from tests.convert.conftest import DISK_SHA256, VM, Converted, guestfs_cache
from vmware2scw.errors import ProviderError
from vmware2scw.provider import (
    ApplyRequest,
    ConfigureRequest,
    PlanRequest,
    ReadRequest,
    ResourceRef,
)
from vmware2scw.testing import RecordingContext

ADDR = "migration.web-01.qcow2_artifact[0]"


def Ctx(work: Path) -> RecordingContext:  # noqa: N802 - reads like the class it builds
    return RecordingContext(ADDR, work, lineage="lin")


def provider(tmp_path: Path, **settings: Any) -> QemuProvider:
    p = QemuProvider()
    settings.setdefault("guestfs_cache_dir", str(guestfs_cache()))
    p.configure(ConfigureRequest(settings=settings, lineage="lin", work_dir=tmp_path))
    return p


def desired(disks: list[str], **kw: Any) -> dict[str, Any]:
    return {
        "vm": VM,
        "disk_index": 0,
        "disks": disks,
        "disk_sha256": DISK_SHA256,
        "guest_family": "linux",
        "firmware": "bios",
        "network": "dhcp",
        "compress": False,
        "verify_boot": False,
        **kw,
    }


def test_windows_without_virtio_win_iso_is_refused_at_plan(tmp_path: Path) -> None:
    p = provider(tmp_path)
    with pytest.raises(ProviderError) as e:
        p.plan(
            PlanRequest(
                address=ADDR,
                type="qcow2_artifact",
                prior=None,
                desired=desired(["/d0"], guest_family="windows"),
            )
        )
    assert e.value.address == ADDR and "virtio_win_iso" in (e.value.hint or "")


@pytest.mark.parametrize(
    "change",
    [{"guest_family": "other"}, {"network": "static"}, {"disk_index": 3}, {"firmware": "coreboot"}],
)
def test_unsupported_cases_are_refused_at_plan(tmp_path: Path, change: dict[str, Any]) -> None:
    with pytest.raises(ProviderError):
        provider(tmp_path).plan(
            PlanRequest(
                address=ADDR, type="qcow2_artifact", prior=None, desired=desired(["/d0"], **change)
            )
        )


def test_plan_marks_outputs_unknown_and_compress_forces_new(tmp_path: Path) -> None:
    p = provider(tmp_path)
    first = p.plan(
        PlanRequest(address=ADDR, type="qcow2_artifact", prior=None, desired=desired(["/d0"]))
    )
    assert {"path", "sha256", "changes"} <= set(first.unknown)
    prior = {
        **desired(["/d0"]),
        "path": "/a",
        "size": 1,
        "virtual_size": 1,
        "sha256": "s",
        "format": "qcow2",
        "changes": [],
    }
    same = p.plan(
        PlanRequest(address=ADDR, type="qcow2_artifact", prior=prior, desired=desired(["/d0"]))
    )
    assert same.planned["path"] == "/a" and "path" not in same.unknown
    changed = p.plan(
        PlanRequest(
            address=ADDR,
            type="qcow2_artifact",
            prior=prior,
            desired=desired(["/d0"], compress=True),
        )
    )
    # the planner replaces on a force_new change (one rule, from the schema)
    assert changed.planned["compress"] is True
    assert "compress" in p.resource_types()["qcow2_artifact"].force_new


def test_failed_conversion_leaves_no_artifact(tmp_path: Path) -> None:
    bad = tmp_path / "disk0-flat.vmdk"
    with bad.open("wb") as f:
        f.truncate(64 << 20)  # no partition table: cannot be converted
    p = provider(tmp_path)
    ctx = Ctx(tmp_path / "res")
    with pytest.raises(ProviderError) as e:
        p.apply(
            ApplyRequest(
                address=ADDR, type="qcow2_artifact", prior=None, planned=desired([str(bad)])
            ),
            ctx,
        )
    assert e.value.address == ADDR and "conversion failed" in e.value.message
    assert not list((tmp_path / "qemu").rglob("*.qcow2*"))
    assert not list((tmp_path / "qemu").rglob("result.json"))


def test_cancelled_conversion_leaves_no_artifact(tmp_path: Path) -> None:
    disk = tmp_path / "d.raw"
    with disk.open("wb") as f:
        f.truncate(8 << 20)
    ctx = Ctx(tmp_path / "res")
    ctx.cancelled.set()
    with pytest.raises(ProviderError, match="cancelled"):
        provider(tmp_path).apply(
            ApplyRequest(
                address=ADDR, type="qcow2_artifact", prior=None, planned=desired([str(disk)])
            ),
            ctx,
        )
    assert not list((tmp_path / "qemu").rglob("*.qcow2*"))


def test_missing_export_is_an_error_with_a_hint(tmp_path: Path) -> None:
    with pytest.raises(ProviderError) as e:
        provider(tmp_path).apply(
            ApplyRequest(
                address=ADDR,
                type="qcow2_artifact",
                prior=None,
                planned=desired([str(tmp_path / "nope")]),
            ),
            Ctx(tmp_path),
        )
    assert "missing" in e.value.message and e.value.hint


@pytest.mark.slow
@pytest.mark.timeout(1500)
def test_provider_conversion_is_idempotent_compressed_and_atomic(
    tmp_path: Path, converted: Callable[[str], Converted]
) -> None:
    """Same input converted twice (fixture, then provider with compression): same changes."""
    first = converted("bios")
    p = provider(tmp_path)
    ctx = Ctx(tmp_path / "res")
    planned = desired([str(first.guest.flat[0])], compress=True)
    out = p.apply(
        ApplyRequest(address=ADDR, type="qcow2_artifact", prior=None, planned=planned), ctx
    ).attributes
    assert out["changes"] == list(first.changes)  # same input, same guest changes
    assert out["format"] == "qcow2" and Path(out["path"]).is_file()
    assert out["size"] < first.disks[0].stat().st_size  # compressed (zlib) is smaller
    phases = {event[0] for event in ctx.events}
    assert phases >= {"copy", "partition", "guest", "initramfs", "qcow2"}
    # A second apply with the same inputs reuses the finished conversion.
    again = p.apply(
        ApplyRequest(address=ADDR, type="qcow2_artifact", prior=None, planned=planned),
        Ctx(tmp_path / "res2"),
    ).attributes
    assert again == out
    ref = ResourceRef(address=ADDR, type="qcow2_artifact", attributes=out)
    assert p.read(ReadRequest(resources=(ref,))).attributes[ADDR] == out
    Path(out["path"]).unlink()
    assert p.read(ReadRequest(resources=(ref,))).attributes[ADDR] is None
