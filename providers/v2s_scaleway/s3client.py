"""Object Storage plumbing: the boto3 client, error classification, bucket and object helpers."""

from __future__ import annotations

import ipaddress
from typing import Any, Literal
from urllib.parse import urlparse

from vmware2scw.errors import ProviderError, TransientError

ChecksumMode = Literal["when_supported", "when_required"]
AddressingStyle = Literal["auto", "path", "virtual"]
_TRANSIENT_CODES = frozenset(
    {"SlowDown", "ServiceUnavailable", "BadDigest", "InternalError", "RequestTimeout", "Throttling",
     "RequestTimeTooSkewed", "503", "500", "502", "504"}
)


def make_s3_client(
    *,
    region: str,
    endpoint: str | None,
    access_key: str | None,
    secret_key: str | None,
    verify: bool | str = True,
    request_checksum_calculation: ChecksumMode = "when_required",
    response_checksum_validation: ChecksumMode = "when_required",
    addressing_style: AddressingStyle = "auto",
    max_pool: int = 16,
    connect_timeout: float = 10.0,
    read_timeout: float = 120.0,
) -> Any:
    """A boto3 S3 client for Scaleway Object Storage (or any S3 endpoint)."""
    import boto3
    from botocore.config import Config

    url = endpoint or f"https://s3.{region}.scw.cloud"
    host = urlparse(url).hostname or ""
    if addressing_style == "auto" and (host == "localhost" or _is_ip(host)):
        addressing_style = "path"
    cfg = Config(
        region_name=region,
        request_checksum_calculation=request_checksum_calculation,
        response_checksum_validation=response_checksum_validation,
        retries={"mode": "standard", "max_attempts": 8},
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        max_pool_connections=max_pool,
        s3={"addressing_style": addressing_style},
    )
    return boto3.client(
        "s3",
        endpoint_url=url,
        aws_access_key_id=access_key,
        aws_secret_access_key=secret_key,
        verify=verify,
        config=cfg,
    )


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def classify(exc: BaseException, what: str, address: str | None = None) -> ProviderError:
    """Turn a botocore error into ProviderError / TransientError (no secrets inside)."""
    from botocore.exceptions import BotoCoreError, ClientError

    if isinstance(exc, ClientError):
        err = exc.response.get("Error", {})
        code = str(err.get("Code", ""))
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        msg = f"{what}: {code or status} {err.get('Message', '')}".strip()
        if code in _TRANSIENT_CODES or status == 429 or status >= 500:
            return TransientError(msg, address=address)
        return ProviderError(msg, address=address)
    if isinstance(exc, BotoCoreError | OSError):
        return TransientError(f"{what}: {type(exc).__name__}: {exc}", address=address)
    return ProviderError(f"{what}: {type(exc).__name__}", address=address)


def error_code(exc: BaseException) -> str:
    """The S3 error code of a ClientError ('' otherwise)."""
    resp = getattr(exc, "response", None)
    return str(resp.get("Error", {}).get("Code", "")) if isinstance(resp, dict) else ""


def ensure_bucket(s3: Any, bucket: str, region: str) -> bool:
    """Create the bucket in ``region`` when absent; True when it was created."""
    try:
        s3.head_bucket(Bucket=bucket)
        return False
    except Exception as exc:
        code = error_code(exc)
        if code not in {"404", "NoSuchBucket", "NotFound"}:
            raise classify(exc, f"head bucket {bucket}") from None
    try:
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region})
    except Exception as exc:
        if error_code(exc) in {"BucketAlreadyOwnedByYou"}:
            return False
        raise classify(exc, f"create bucket {bucket} in {region}") from None
    return True


def list_uploads(s3: Any, bucket: str, key: str) -> list[dict[str, Any]]:
    """In-progress multipart uploads of exactly ``key`` (oldest first)."""
    found: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"Bucket": bucket, "Prefix": key}
    while True:
        res = s3.list_multipart_uploads(**kwargs)
        found += [u for u in res.get("Uploads", []) if u.get("Key") == key]
        if not res.get("IsTruncated"):
            break
        kwargs.update(KeyMarker=res.get("NextKeyMarker"),
                      UploadIdMarker=res.get("NextUploadIdMarker"))
    return sorted(found, key=lambda u: str(u.get("Initiated", "")))


def head(s3: Any, bucket: str, key: str) -> dict[str, Any] | None:
    """HeadObject, or None when the object (or bucket) does not exist."""
    try:
        return dict(s3.head_object(Bucket=bucket, Key=key))
    except Exception as exc:
        if error_code(exc) in {"404", "NoSuchKey", "NotFound", "NoSuchBucket"}:
            return None
        raise classify(exc, f"head s3://{bucket}/{key}") from None


def delete_object(s3: Any, bucket: str, key: str, address: str | None = None) -> None:
    """Delete the object and abort every multipart upload of its key; absent is fine."""
    try:
        for u in list_uploads(s3, bucket, key):
            try:
                s3.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=u["UploadId"])
            except Exception as exc:
                if error_code(exc) != "NoSuchUpload":
                    raise
        s3.delete_object(Bucket=bucket, Key=key)
    except Exception as exc:
        if error_code(exc) in {"NoSuchBucket", "NoSuchKey", "404"}:
            return
        raise classify(exc, f"delete s3://{bucket}/{key}", address) from None


def list_prefix(s3: Any, bucket: str, prefix: str) -> dict[str, dict[str, Any]]:
    """Objects under ``prefix`` by key (one paginated listing)."""
    out: dict[str, dict[str, Any]] = {}
    try:
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for o in page.get("Contents", []):
                out[str(o["Key"])] = dict(o)
    except Exception as exc:
        if error_code(exc) == "NoSuchBucket":
            return {}
        raise classify(exc, f"list s3://{bucket}/{prefix}") from None
    return out
