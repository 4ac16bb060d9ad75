"""Contract: Block snapshot import driven through the real ``scaleway`` SDK."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest
from scaleway import ScalewayException, WaitForOptions
from scaleway.block.v1 import BlockV1API
from scaleway.instance.v1.custom_api import InstanceUtilsV1API

from tests.lab.s3 import MotoS3Server
from tests.lab.scwsim import Simulator

FAST = WaitForOptions(timeout=30, min_delay=1, max_delay=1)


def _error(exc: pytest.ExceptionInfo[ScalewayException]) -> dict[str, object]:
    body: dict[str, object] = json.loads(exc.value.response.text)
    return body


def test_valid_qcow2_import_reaches_available(sim: Simulator, images, upload) -> None:  # type: ignore[no-untyped-def]
    bucket, key = upload(images["valid"], "lineage/web-01/disk0.qcow2")
    api = BlockV1API(sim.client())
    snap = api.import_snapshot_from_object_storage(
        bucket=bucket, key=key, name="web-01-disk0", tags=["v2s-lineage=abc", "v2s-address=x"]
    )
    assert (snap.status, snap.size, snap.parent_volume) == ("creating", 2**30, None)
    done = api.wait_for_snapshot(snapshot_id=snap.id, options=FAST)
    assert done.status == "available"
    assert done.tags == ["v2s-lineage=abc", "v2s-address=x"]
    assert done.project_id == sim.account.project_id
    listed = api.list_snapshots(include_deleted=False, tags=["v2s-lineage=abc"])
    assert [s.id for s in listed.snapshots] == [snap.id]


def test_explicit_size_is_kept_and_may_not_shrink(sim: Simulator, images, upload) -> None:  # type: ignore[no-untyped-def]
    bucket, key = upload(images["valid"], "d.qcow2")
    api = BlockV1API(sim.client())
    snap = api.import_snapshot_from_object_storage(
        bucket=bucket, key=key, name="n", size=20_000_000_000
    )
    assert snap.size == 20_000_000_000
    with pytest.raises(ScalewayException) as exc:
        api.import_snapshot_from_object_storage(bucket=bucket, key=key, name="n", size=2**29)
    assert exc.value.status_code == 400


@pytest.mark.parametrize(
    ("image", "key", "argument", "words"),
    [
        ("raw", "disk.qcow2", "key", "not a QCOW2 image"),
        ("zstd", "disk.qcow2", "key", "zstd"),
        ("backing", "disk.qcow2", "key", "backing file"),
        ("encrypted", "disk.qcow2", "key", "encrypted"),
        ("small", "disk.qcow2", "size", "between"),
        ("valid", "disk.img", "key", ".qcow or .qcow2"),
        ("valid", "disk.qcow2.bak", "key", ".qcow or .qcow2"),
    ],
)
def test_bad_objects_are_refused_as_invalid_arguments(  # type: ignore[no-untyped-def]
    sim: Simulator, images, upload, image: str, key: str, argument: str, words: str
) -> None:
    bucket, key = upload(images[image], key)
    api = BlockV1API(sim.client())
    with pytest.raises(ScalewayException) as exc:
        api.import_snapshot_from_object_storage(bucket=bucket, key=key, name="bad")
    assert exc.value.status_code == 400
    body = _error(exc)
    assert body["type"] == "invalid_arguments"
    detail = body["details"][0]  # type: ignore[index]
    assert detail["argument_name"] == argument
    assert words in detail["help_message"]
    assert api.list_snapshots(include_deleted=False).total_count == 0


def test_qcow_suffix_is_accepted(sim: Simulator, images, upload) -> None:  # type: ignore[no-untyped-def]
    bucket, key = upload(images["valid"], "disk.qcow")
    snap = BlockV1API(sim.client()).import_snapshot_from_object_storage(
        bucket=bucket, key=key, name="n"
    )
    assert snap.status == "creating"


def test_bucket_in_another_region_is_not_found(
    sim: Simulator, images: dict[str, Path], s3_server: MotoS3Server
) -> None:
    nl = boto3.client(
        "s3",
        endpoint_url=s3_server.endpoint_url,
        region_name="nl-ams",
        aws_access_key_id="lab-access-key",
        aws_secret_access_key="lab-secret-key",
    )
    nl.create_bucket(
        Bucket="v2s-ams-bucket", CreateBucketConfiguration={"LocationConstraint": "nl-ams"}
    )
    nl.upload_file(str(images["valid"]), "v2s-ams-bucket", "disk.qcow2")
    api = BlockV1API(sim.client())
    with pytest.raises(ScalewayException) as exc:
        api.import_snapshot_from_object_storage(
            bucket="v2s-ams-bucket", key="disk.qcow2", name="n", zone="fr-par-1"
        )
    assert exc.value.status_code == 400
    assert _error(exc)["details"][0]["argument_name"] == "bucket"  # type: ignore[index]
    # The same bucket imports into a zone of its own region.
    ok = api.import_snapshot_from_object_storage(
        bucket="v2s-ams-bucket", key="disk.qcow2", name="n", zone="nl-ams-1"
    )
    assert ok.zone == "nl-ams-1"


def test_missing_object_and_bucket(sim: Simulator, s3_bucket: str) -> None:
    api = BlockV1API(sim.client())
    for bucket, key, argument in (
        (s3_bucket, "nope.qcow2", "key"),
        ("no-such-bkt", "a.qcow2", "bucket"),
    ):
        with pytest.raises(ScalewayException) as exc:
            api.import_snapshot_from_object_storage(bucket=bucket, key=key, name="n")
        assert exc.value.status_code == 400
        assert _error(exc)["details"][0]["argument_name"] == argument  # type: ignore[index]


def test_corrupt_qcow2_ends_in_error(sim: Simulator, images, upload, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    corrupt = tmp_path / "corrupt.qcow2"
    data = bytearray(images["valid"].read_bytes())
    # Header intact; the refcount table (cluster 1) points far outside the file.
    data[0x10000:0x10008] = (0x7FFF_FFFF_0000).to_bytes(8, "big")
    corrupt.write_bytes(bytes(data))
    bucket, key = upload(corrupt, "corrupt.qcow2")
    api = BlockV1API(sim.client())
    snap = api.import_snapshot_from_object_storage(bucket=bucket, key=key, name="n")
    assert snap.status == "creating"
    done = api.wait_for_snapshot(snapshot_id=snap.id, options=FAST)
    assert done.status == "error"


def test_image_links_snapshot_until_deleted(sim: Simulator, images, upload) -> None:  # type: ignore[no-untyped-def]
    bucket, key = upload(images["valid"], "d.qcow2")
    client = sim.client()
    block, inst = BlockV1API(client), InstanceUtilsV1API(client)
    snap = block.import_snapshot_from_object_storage(bucket=bucket, key=key, name="n")
    with pytest.raises(ScalewayException) as exc:  # still creating
        inst.create_image(root_volume=snap.id, arch="x86_64", name="img")
    assert exc.value.status_code == 400
    block.wait_for_snapshot(snapshot_id=snap.id, options=FAST)
    image = inst.create_image(root_volume=snap.id, arch="x86_64", name="img", tags=["t"]).image
    assert (image.state, image.root_volume.id, image.root_volume.volume_type) == (
        "available", snap.id, "sbs_snapshot"
    )  # fmt: skip
    used = block.get_snapshot(snapshot_id=snap.id)
    assert used.status == "in_use"
    assert [(r.product_resource_type, r.type_) for r in used.references] == [
        ("instance_image", "link")
    ]
    with pytest.raises(ScalewayException) as exc:
        block.delete_snapshot(snapshot_id=snap.id)
    assert exc.value.status_code == 412
    inst.delete_image(image_id=image.id)
    assert block.get_snapshot(snapshot_id=snap.id).status == "available"
    block.delete_snapshot(snapshot_id=snap.id)
    with pytest.raises(ScalewayException) as exc:
        block.get_snapshot(snapshot_id=snap.id)
    assert exc.value.status_code == 404
    assert _error(exc)["resource"] == "snapshot"


def test_marketplace_snapshot_is_forbidden(sim: Simulator) -> None:
    api = BlockV1API(sim.client())
    with pytest.raises(ScalewayException) as exc:
        api.get_snapshot(snapshot_id="c75ef419-9a29-4fda-bd73-5de42af425b0")
    assert exc.value.status_code == 403
    assert _error(exc)["type"] == "permissions_denied"


def test_import_from_a_tls_object_storage(
    s3_server_tls: MotoS3Server, s3_bucket_tls: str, images: dict[str, Path]
) -> None:
    s3_server_tls.client().upload_file(str(images["valid"]), s3_bucket_tls, "tls/disk.qcow2")
    with Simulator(
        s3_endpoint=s3_server_tls.endpoint_url, s3_verify=s3_server_tls.verify, speed=50
    ) as sim:
        api = BlockV1API(sim.client())
        snap = api.import_snapshot_from_object_storage(
            bucket=s3_bucket_tls, key="tls/disk.qcow2", name="tls"
        )
        assert api.wait_for_snapshot(snapshot_id=snap.id, options=FAST).status == "available"
        assert sim.internal_errors == []
