"""Reading the object of a snapshot import from S3 and judging it with ``qemu-img``.

The POST is answered after a header check (first ``HEAD_BYTES`` of the object in a
sparse file of the object's size: format, backing file, encryption, compression,
virtual size); the whole object is then downloaded and ``qemu-img check``-ed in a
worker thread, which decides between ``available`` and ``error``.
"""

from __future__ import annotations

import json
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..throttle import TokenBucket
from .errors import invalid_argument

HEAD_BYTES = 4 * 1024 * 1024
MIN_SIZE = 1_000_000_000  # 1 GB
MAX_SIZE = 1_000_000_000_000  # 1 TB
KEY_SUFFIXES = (".qcow", ".qcow2")


@dataclass(frozen=True)
class S3Config:
    """Where each region's Object Storage is, and how to sign requests to it."""

    endpoints: dict[str, str]
    access_key: str = "lab-access-key"
    secret_key: str = "lab-secret-key"
    verify: str | bool = True
    import_rate: float | None = None  # bytes/s of the import's download (None = unlimited)


class ObjectStorage:
    """boto3 clients per region, as the real import service would use them."""

    def __init__(self, config: S3Config) -> None:
        self.config = config
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()

    def client(self, region: str) -> Any:
        with self._lock:  # boto3's default session is not thread-safe
            return self._client(region)

    def _client(self, region: str) -> Any:
        if region not in self._clients:
            import boto3
            from botocore.config import Config

            endpoint = self.config.endpoints.get(region)
            if endpoint is None:
                raise invalid_argument("bucket", f"no Object Storage in region {region}")
            self._clients[region] = boto3.client(
                "s3",
                endpoint_url=endpoint,
                region_name=region,
                aws_access_key_id=self.config.access_key,
                aws_secret_access_key=self.config.secret_key,
                verify=self.config.verify,
                config=Config(retries={"max_attempts": 2}, connect_timeout=5, read_timeout=60),
            )
        return self._clients[region]

    def object_size(self, region: str, bucket: str, key: str) -> int:
        """Size of the object; 400 if the bucket is not in ``region`` or the key is absent."""
        from botocore.exceptions import ClientError

        c = self.client(region)
        try:
            location = c.get_bucket_location(Bucket=bucket).get("LocationConstraint") or region
        except ClientError:
            raise invalid_argument("bucket", f"bucket {bucket!r} not found in {region}") from None
        if location != region:
            # The real service only sees its own region's buckets.
            raise invalid_argument("bucket", f"bucket {bucket!r} not found in {region}")
        try:
            return int(c.head_object(Bucket=bucket, Key=key)["ContentLength"])
        except ClientError:
            raise invalid_argument("key", f"object {key!r} not found in {bucket!r}") from None

    def fetch_head(self, region: str, bucket: str, key: str, size: int, dest: Path) -> None:
        """Write the object's first bytes into a sparse file of its full size."""
        n = min(size, HEAD_BYTES)
        data = b""
        if n:
            obj = self.client(region).get_object(Bucket=bucket, Key=key, Range=f"bytes=0-{n - 1}")
            data = obj["Body"].read()
        with dest.open("wb") as f:
            f.write(data)
            f.truncate(size)

    def download(self, region: str, bucket: str, key: str, dest: Path) -> None:
        """The whole object into ``dest``, paced to ``import_rate`` when one is set."""
        if not self.config.import_rate:
            self.client(region).download_file(bucket, key, str(dest))
            return
        pace = TokenBucket(self.config.import_rate)
        body = self.client(region).get_object(Bucket=bucket, Key=key)["Body"]
        with dest.open("wb") as f:
            for chunk in iter(lambda: body.read(256 * 1024), b""):
                pace.take(len(chunk))
                f.write(chunk)


def qemu_info(path: Path, qemu_img: str = "qemu-img") -> dict[str, Any]:
    """``qemu-img info --output=json`` of a file (format probed, as for an upload)."""
    proc = subprocess.run(
        [qemu_img, "info", "--output=json", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if proc.returncode != 0:
        raise invalid_argument("key", "the object is not a valid QCOW2 image")
    info: dict[str, Any] = json.loads(proc.stdout)
    return info


def qemu_check(path: Path, qemu_img: str = "qemu-img") -> bool:
    """True unless ``qemu-img check`` finds corruption (exit 3 = leaked clusters only)."""
    proc = subprocess.run(
        [qemu_img, "check", "-f", "qcow2", str(path)],
        capture_output=True,
        timeout=3600,
        check=False,
    )
    return proc.returncode in (0, 3)


def check_key(key: str) -> None:
    if not key.endswith(KEY_SUFFIXES):
        raise invalid_argument("key", "the object key must end with .qcow or .qcow2")


def check_image(info: dict[str, Any], size: int | None) -> int:
    """Apply Scaleway's QCOW2 rules to ``qemu-img info``; return the snapshot size."""
    fmt = info.get("format")
    if fmt != "qcow2":
        raise invalid_argument("key", f"the object is not a QCOW2 image (format: {fmt})")
    if info.get("backing-filename") or info.get("full-backing-filename"):
        raise invalid_argument("key", "QCOW2 images with a backing file are not supported")
    data = info.get("format-specific", {}).get("data", {})
    if info.get("encrypted") or data.get("encrypt"):
        raise invalid_argument("key", "encrypted QCOW2 images are not supported")
    if data.get("compression-type") == "zstd":
        raise invalid_argument("key", "zstd-compressed QCOW2 images are not supported")
    virtual = int(info.get("virtual-size", 0))
    wanted = virtual if size is None else size
    if size is not None and size < virtual:
        raise invalid_argument("size", f"size must be at least the image size ({virtual})")
    if not MIN_SIZE <= wanted <= MAX_SIZE:
        raise invalid_argument(
            "size", f"size must be between {MIN_SIZE} and {MAX_SIZE} bytes (got {wanted})"
        )
    return wanted
