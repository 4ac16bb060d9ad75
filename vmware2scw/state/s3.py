"""The S3 state backend (Scaleway Object Storage or any S3 API).

The state is the object ``key``; before each write the current object is copied
server-side to ``<key>.backup`` (one backup, like the local backend). The lock
is the object ``<key>.lock``, created with ``If-None-Match: *`` so exactly one
run wins; it holds the LockInfo and stays until unlocked or force-unlocked.
Credentials: the settings, else boto3's chain (AWS_* variables, profiles), else
SCW_ACCESS_KEY / SCW_SECRET_KEY.
"""

from __future__ import annotations

import os
import threading
from typing import Any, Literal

from vmware2scw.errors import StateError
from vmware2scw.state import codec
from vmware2scw.state.backend import ChecksumMode, S3Settings
from vmware2scw.state.lock import LockInfo, locked_error, wrong_id_error
from vmware2scw.state.model import State

SCALEWAY_REGIONS = frozenset({"fr-par", "nl-ams", "pl-waw", "it-mil"})


def default_endpoint(region: str) -> str | None:
    """Scaleway's Object Storage endpoint for its regions; None lets boto3 pick (AWS)."""
    return f"https://s3.{region}.scw.cloud" if region in SCALEWAY_REGIONS else None


def _code(exc: Exception) -> tuple[str, int]:
    response: dict[str, Any] = getattr(exc, "response", None) or {}
    code = str(response.get("Error", {}).get("Code", ""))
    status = int(response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
    return code, status


class S3Backend:
    """A state object in an S3 bucket, locked by a conditional write."""

    def __init__(
        self,
        bucket: str,
        key: str,
        region: str = "fr-par",
        endpoint_url: str | None = None,
        *,
        profile: str | None = None,
        access_key: str | None = None,
        secret_key: str | None = None,
        verify: bool | str = True,
        addressing_style: Literal["auto", "path", "virtual"] = "auto",
        request_checksum_calculation: ChecksumMode = "when_required",
        response_checksum_validation: ChecksumMode = "when_required",
        client: Any = None,
    ) -> None:
        self.bucket, self.key, self.region = bucket, key, region
        self.lock_key, self.backup_key = f"{key}.lock", f"{key}.backup"
        self.endpoint_url = endpoint_url or default_endpoint(region)
        self._encoder = codec.Encoder()
        self._mu = threading.Lock()
        self._exists: bool | None = None  # does `key` exist (known after a read or write)
        self._held: str | None = None
        self._client = client or self._make_client(
            profile,
            access_key,
            secret_key,
            verify,
            addressing_style,
            request_checksum_calculation,
            response_checksum_validation,
        )

    @classmethod
    def from_settings(cls, s: S3Settings) -> S3Backend:
        """A backend from the validated ``backend: {s3: ...}`` block."""
        return cls(
            s.bucket,
            s.key,
            s.region,
            s.endpoint,
            profile=s.profile,
            access_key=s.access_key,
            secret_key=s.secret_key,
            verify=s.verify,
            addressing_style=s.addressing_style,
            request_checksum_calculation=s.request_checksum_calculation,
            response_checksum_validation=s.response_checksum_validation,
        )

    def _make_client(
        self,
        profile: str | None,
        access_key: str | None,
        secret_key: str | None,
        verify: bool | str,
        addressing_style: Literal["auto", "path", "virtual"],
        request_checksum: ChecksumMode,
        response_checksum: ChecksumMode,
    ) -> Any:
        import boto3
        from botocore.config import Config

        if access_key is None and profile is None and "AWS_ACCESS_KEY_ID" not in os.environ:
            access_key = os.environ.get("SCW_ACCESS_KEY")  # Scaleway's own variables
            secret_key = os.environ.get("SCW_SECRET_KEY") if access_key else None
        from botocore.exceptions import ProfileNotFound

        try:
            session = boto3.session.Session(profile_name=profile)
        except ProfileNotFound:
            raise StateError(
                f"s3://{self.bucket}/{self.key}: credentials profile {profile!r} not found",
                hint="fix backend.s3.profile, or add the profile to ~/.aws/credentials "
                "(AWS_SHARED_CREDENTIALS_FILE / AWS_CONFIG_FILE name other files)",
            ) from None
        config = Config(
            region_name=self.region,
            s3={"addressing_style": addressing_style},
            request_checksum_calculation=request_checksum,
            response_checksum_validation=response_checksum,
            retries={"mode": "standard", "max_attempts": 8},  # idempotent requests only
            connect_timeout=10,
            read_timeout=60,
        )
        return session.client(
            "s3",
            endpoint_url=self.endpoint_url,
            aws_access_key_id=access_key,
            aws_secret_access_key=secret_key,
            verify=verify,
            config=config,
        )

    def describe(self) -> str:
        return f"s3://{self.bucket}/{self.key}"

    def _fail(self, what: str, exc: Exception, key: str | None = None) -> StateError:
        code, status = _code(exc)
        detail = f"{code} (HTTP {status})" if code else type(exc).__name__
        where = f"s3://{self.bucket}/{key or self.key}"
        hint = {
            "NoSuchBucket": f"create the bucket {self.bucket!r} first, or fix backend.s3.bucket",
            "AccessDenied": "check the credentials and that they may read and write the bucket",
            "InvalidAccessKeyId": "check the access key (SCW_ACCESS_KEY / AWS_ACCESS_KEY_ID)",
            "SignatureDoesNotMatch": "check the secret key and the region",
        }.get(code, f"check the endpoint {self.endpoint_url or '(AWS default)'} is reachable")
        return StateError(f"{where}: cannot {what}: {detail}", hint=hint)

    def _get_object(self, key: str) -> tuple[bytes, str] | None:
        """The object's bytes and ETag, or None when it does not exist."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            response = self._client.get_object(Bucket=self.bucket, Key=key)
            return bytes(response["Body"].read()), str(response.get("ETag", ""))
        except ClientError as exc:
            if _code(exc)[0] in ("NoSuchKey", "404"):
                return None
            raise self._fail("read", exc, key) from None
        except BotoCoreError as exc:
            raise self._fail("read", exc, key) from None

    def _get(self, key: str) -> bytes | None:
        got = self._get_object(key)
        return None if got is None else got[0]

    # --- state ---------------------------------------------------------------------------

    def read(self) -> State | None:
        data = self._get(self.key)
        self._exists = data is not None
        if data is None:
            return None
        return codec.loads(data, self.describe(), backup=f"s3://{self.bucket}/{self.backup_key}")

    def read_backup(self) -> State | None:
        data = self._get(self.backup_key)
        return None if data is None else codec.loads(data, f"s3://{self.bucket}/{self.backup_key}")

    def write(self, state: State) -> None:
        self.write_bytes(self._encoder.dumps(state))

    def write_bytes(self, data: bytes) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        with self._mu:
            try:
                if self._exists is not False:
                    self._keep_backup()
                self._client.put_object(
                    Bucket=self.bucket, Key=self.key, Body=data, ContentType="application/json"
                )
            except (ClientError, BotoCoreError) as exc:
                raise self._fail("write the state", exc) from None
            self._exists = True

    def _keep_backup(self) -> None:
        from botocore.exceptions import ClientError

        source = {"Bucket": self.bucket, "Key": self.key}
        try:
            self._client.copy_object(Bucket=self.bucket, Key=self.backup_key, CopySource=source)
        except ClientError as exc:
            if _code(exc)[0] not in ("NoSuchKey", "404"):
                raise

    # --- lock ----------------------------------------------------------------------------

    def _holder(self) -> LockInfo | None:
        data = self._get(self.lock_key)
        return None if not data else LockInfo.from_bytes(data)

    def lock(self, info: LockInfo) -> str:
        from botocore.exceptions import BotoCoreError, ClientError

        for _ in range(5):
            try:
                self._client.put_object(
                    Bucket=self.bucket,
                    Key=self.lock_key,
                    Body=info.to_bytes(),
                    ContentType="application/json",
                    IfNoneMatch="*",
                )
            except ClientError as exc:
                code, status = _code(exc)
                if status == 409 or code == "ConditionalRequestConflict":
                    continue  # a concurrent conditional write on the key: ask again
                if status != 412 and code != "PreconditionFailed":
                    raise self._fail("take the lock", exc, self.lock_key) from None
                holder = self._holder()
                if holder is not None and holder.id == info.id:
                    break  # our own write landed and its answer was lost: the lock is ours
                if holder is None and self._get(self.lock_key) is None:
                    continue  # released between our attempt and our read: try again
                raise locked_error(self.describe(), holder) from None
            except BotoCoreError as exc:
                raise self._fail("take the lock", exc, self.lock_key) from None
            else:
                break
        else:
            raise locked_error(self.describe(), self._holder())
        self._held = info.id
        return info.id

    def current_lock(self) -> LockInfo | None:
        return self._holder()

    def _remove_lock(self, lock_id: str, *, ours: bool) -> None:
        """Delete the lock object if it still is lock ``lock_id`` (a conditional delete).

        ``ours``: this object took the lock, so finding it gone means an earlier delete
        of ours landed and only its answer was lost (a retried release succeeds).
        """
        from botocore.exceptions import BotoCoreError, ClientError

        got = self._get_object(self.lock_key)
        holder = None if got is None or not got[0] else LockInfo.from_bytes(got[0])
        if got is None and ours:
            self._held = None
            return
        if got is None or holder is None or holder.id != lock_id:
            raise wrong_id_error(self.describe(), lock_id, holder)
        try:
            try:
                self._client.delete_object(Bucket=self.bucket, Key=self.lock_key, IfMatch=got[1])
            except ClientError as exc:
                code, status = _code(exc)
                if status == 404 or code in ("NoSuchKey", "404"):
                    pass  # a retry of a delete that landed: the lock is gone, as asked
                elif status == 412 or code == "PreconditionFailed":
                    now = self._get(self.lock_key)  # replaced since we read it, or gone
                    if now is not None:
                        holder = LockInfo.from_bytes(now) if now else None
                        raise wrong_id_error(self.describe(), lock_id, holder) from None
                elif status == 501 or code == "NotImplemented":
                    self._client.delete_object(Bucket=self.bucket, Key=self.lock_key)
                else:
                    raise
        except (ClientError, BotoCoreError) as exc:
            raise self._fail("remove the lock", exc, self.lock_key) from None
        if self._held == lock_id:
            self._held = None

    def unlock(self, lock_id: str) -> None:
        self._remove_lock(lock_id, ours=self._held == lock_id)

    def force_unlock(self, lock_id: str) -> None:
        self._remove_lock(lock_id, ours=False)
