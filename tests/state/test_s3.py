"""S3 backend specifics: lock and backup objects, checksum settings, endpoints, errors."""

from __future__ import annotations

import pytest

from tests.lab.s3 import MotoS3Server
from tests.state.conftest import s3_block, sample_state
from vmware2scw.errors import StateError
from vmware2scw.state.backend import from_config
from vmware2scw.state.lock import LockInfo
from vmware2scw.state.s3 import S3Backend, default_endpoint


def backend(server: MotoS3Server, bucket: str, key: str = "env/v2s.state.json") -> S3Backend:
    b = from_config(s3_block(server, bucket, key), server.tmpdir)  # type: ignore[arg-type]
    assert isinstance(b, S3Backend)
    return b


def test_lock_and_backup_are_objects_beside_the_state(
    s3_server: MotoS3Server, s3_bucket: str
) -> None:
    b = backend(s3_server, s3_bucket)
    b.write(sample_state(1, serial=1))
    b.write(sample_state(1, serial=2))
    info = LockInfo.new("destroy")
    b.lock(info)
    client = s3_server.client()
    keys = sorted(o["Key"] for o in client.list_objects_v2(Bucket=s3_bucket)["Contents"])
    assert keys == ["env/v2s.state.json", "env/v2s.state.json.backup", "env/v2s.state.json.lock"]
    body = client.get_object(Bucket=s3_bucket, Key="env/v2s.state.json.lock")["Body"].read()
    assert LockInfo.model_validate_json(body) == info
    b.unlock(info.id)
    keys = [o["Key"] for o in client.list_objects_v2(Bucket=s3_bucket)["Contents"]]
    assert "env/v2s.state.json.lock" not in keys


def test_checksum_settings_default_to_when_required(
    s3_server: MotoS3Server, s3_bucket: str
) -> None:
    config = backend(s3_server, s3_bucket)._client.meta.config
    assert config.request_checksum_calculation == "when_required"
    assert config.response_checksum_validation == "when_required"
    block = s3_block(s3_server, s3_bucket, "k")
    block["s3"]["request_checksum_calculation"] = "when_supported"
    custom = from_config(block, s3_server.tmpdir)  # type: ignore[arg-type]
    assert custom._client.meta.config.request_checksum_calculation == "when_supported"  # type: ignore[attr-defined]


def test_state_writes_over_tls_with_trailing_checksums(
    s3_server_tls: MotoS3Server, s3_bucket_tls: str
) -> None:
    block = s3_block(s3_server_tls, s3_bucket_tls, "tls/v2s.state.json")
    block["s3"]["request_checksum_calculation"] = "when_supported"
    b = from_config(block, s3_server_tls.tmpdir)  # type: ignore[arg-type]
    sent: list[bytes] = []
    b._client.meta.events.register(  # type: ignore[attr-defined]
        "before-send.s3.PutObject",
        lambda request, **_: sent.append(str(request.headers.get("Content-Encoding", "")).encode()),
    )
    state = sample_state(50, serial=4)
    b.write(state)
    assert any(b"aws-chunked" in s for s in sent)
    assert from_config(block, s3_server_tls.tmpdir).read() == state  # type: ignore[arg-type]


def test_scaleway_regions_get_the_scaleway_endpoint() -> None:
    assert default_endpoint("nl-ams") == "https://s3.nl-ams.scw.cloud"
    assert default_endpoint("eu-west-1") is None
    b = S3Backend("bucket", "k", "pl-waw", access_key="a", secret_key="b")
    assert b._client.meta.endpoint_url == "https://s3.pl-waw.scw.cloud"


def test_missing_bucket_and_bad_tls_are_clear_errors(
    s3_server: MotoS3Server, s3_server_tls: MotoS3Server
) -> None:
    with pytest.raises(StateError, match=r"s3://no-such-bucket/.*NoSuchBucket") as bad:
        backend(s3_server, "no-such-bucket").read()
    assert "create the bucket" in str(bad.value)
    block = s3_block(s3_server_tls, "whatever", "k")
    block["s3"]["verify"] = True  # the lab CA is not trusted by default: TLS verification fails
    block["s3"]["endpoint"] = s3_server_tls.endpoint_url
    with pytest.raises(StateError, match="cannot read"):
        from_config(block, s3_server_tls.tmpdir).read()  # type: ignore[arg-type]


def test_secret_key_is_not_in_reprs(s3_server: MotoS3Server, s3_bucket: str) -> None:
    from vmware2scw.state.backend import S3Settings

    settings = S3Settings.model_validate(s3_block(s3_server, s3_bucket, "k")["s3"])
    assert settings.secret_key and settings.secret_key not in repr(settings)


def test_scaleway_credential_variables_are_used(
    s3_server: MotoS3Server, s3_bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SCW_ACCESS_KEY", "SCWXXXXXXXXXXXXXXXXX")
    monkeypatch.setenv("SCW_SECRET_KEY", "11111111-2222-3333-4444-555555555555")
    b = S3Backend(s3_bucket, "k", s3_server.region, s3_server.endpoint_url)
    assert b._client._request_signer._credentials.access_key == "SCWXXXXXXXXXXXXXXXXX"
    b.write(sample_state(1))
    assert b.read() is not None


def test_unlock_never_deletes_a_lock_taken_after_it_was_read(
    s3_server: MotoS3Server, s3_bucket: str
) -> None:
    mine, rescuer = backend(s3_server, s3_bucket), backend(s3_server, s3_bucket)
    old = LockInfo.new("apply")
    mine.lock(old)
    new = LockInfo.new("destroy")

    def meanwhile(**_: object) -> None:  # between our read and our delete, the lock changes
        rescuer.force_unlock(old.id)
        rescuer.lock(new)

    mine._client.meta.events.register_first("before-call.s3.DeleteObject", meanwhile)
    with pytest.raises(StateError, match=new.id):
        mine.unlock(old.id)
    assert rescuer.current_lock() == new
