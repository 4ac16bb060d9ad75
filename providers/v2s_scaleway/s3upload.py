"""Resumable multipart upload of a local file to Object Storage (``s3_object``).

Low-level calls only (create / upload_part / list_parts / complete) because
``upload_file`` aborts on failure. The upload id and finished parts are saved
through ``ctx.checkpoint``; a rerun lists the parts the server holds, keeps each
whose size and MD5 ETag match the local bytes, and sends only the others.
Integrity: every part's ETag is its MD5, the final ETag is checked against the
MD5 of the part MD5s, and the file's sha256 is stored as object metadata.
"""

from __future__ import annotations

import base64
import hashlib
import math
import os
import re
import threading
import time
from collections.abc import Iterator
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from vmware2scw.errors import ProviderError, TransientError
from vmware2scw.provider import ApplyContext
from vmware2scw.wording import plural

from .s3client import classify, error_code, head, list_uploads

MiB = 1024 * 1024
MIN_PART = 5 * MiB
MAX_PART = 5 * 1024 * MiB
MAX_PARTS = 1000  # Scaleway's limit (AWS allows 10,000)
SHA_META = "v2s-sha256"
_MULTIPART_ETAG = re.compile(r'^"[0-9a-f]{32}-[0-9]+"$')  # other forms cannot be checked



class UploadResult(BaseModel):
    """What one upload run produced; ``bytes_sent`` counts only this run's part bodies."""

    model_config = ConfigDict(frozen=True)
    etag: str
    size: int
    sha256: str
    upload_id: str
    parts: int
    part_size: int
    bytes_sent: int
    adopted: bool = False


def choose_part_size(size: int, requested: int | None = None) -> int:
    """A part size (whole MiB) keeping parts <= 1,000 and each >= 5 MiB."""
    need = max(MIN_PART, math.ceil(size / MAX_PARTS), requested or 0)
    part = math.ceil(need / MiB) * MiB
    if part > MAX_PART:
        raise ProviderError(f"file of {size} bytes needs parts over 5 GiB (max object 5 TB)")
    return part


def file_sha256(path: Path, cancelled: threading.Event | None = None) -> str:
    """Hex sha256 of a file, read in 8 MiB blocks."""
    h = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(8 * MiB):
            if cancelled is not None and cancelled.is_set():
                raise TransientError(f"cancelled while hashing {path}")
            h.update(block)
    return h.hexdigest()


def multipart_etag(md5s: list[bytes]) -> str:
    """The ETag S3 gives a multipart object: md5 of the part md5s, dash, part count."""
    return f'"{hashlib.md5(b"".join(md5s)).hexdigest()}-{len(md5s)}"'  # noqa: S324


def _part_ranges(size: int, part_size: int) -> Iterator[tuple[int, int, int]]:
    n = max(1, math.ceil(size / part_size))
    for i in range(n):
        off = i * part_size
        yield i + 1, off, min(part_size, size - off)


def _list_parts(s3: Any, bucket: str, key: str, upload_id: str) -> dict[int, tuple[int, str]]:
    """Parts the server holds: number -> (size, etag); paginated."""
    out: dict[int, tuple[int, str]] = {}
    marker = 0
    while True:
        res = s3.list_parts(Bucket=bucket, Key=key, UploadId=upload_id, PartNumberMarker=marker)
        for p in res.get("Parts", []):
            out[int(p["PartNumber"])] = (int(p["Size"]), str(p["ETag"]))
        if not res.get("IsTruncated"):
            return out
        marker = int(res.get("NextPartNumberMarker") or max(out, default=0))


class Uploader:
    """One resumable upload of ``path`` to ``s3://bucket/key``."""

    def __init__(
        self,
        s3: Any,
        *,
        path: Path,
        bucket: str,
        key: str,
        ctx: ApplyContext,
        checkpoint: dict[str, Any] | None = None,
        concurrency: int = 4,
        part_size: int | None = None,
        metadata: dict[str, str] | None = None,
        expected_sha256: str | None = None,
        checkpoint_every: float = 0.5,
    ):
        self.s3, self.path, self.bucket, self.key, self.ctx = s3, path, bucket, key, ctx
        self.prior = checkpoint or {}
        self.concurrency = concurrency
        self.requested_part = part_size
        self.metadata = dict(metadata or {})
        self.expected_sha256 = expected_sha256
        self.checkpoint_every = checkpoint_every
        self._lock = threading.Lock()
        self._done: dict[int, str] = {}  # part number -> etag
        self._md5: dict[int, bytes] = {}
        self._sent = 0
        self._progress_bytes = 0
        self._last_cp = 0.0
        self.upload_id = ""
        self.size = 0
        self.part_size = 0

    # -- public -------------------------------------------------------------------------------

    def run(self) -> UploadResult:
        """Upload (or resume, or adopt a finished object); raise Provider/TransientError."""
        if not self.path.is_file():
            raise ProviderError(
                f"source file {self.path} does not exist",
                address=self.ctx.address,
                hint="re-run the plan: the qcow2 artifact must be produced again",
            )
        self.size = self.path.stat().st_size
        self.part_size = choose_part_size(self.size, self.requested_part)
        sha = self._sha_in_background()
        existing = head(self.s3, self.bucket, self.key)
        if existing is not None and self._matches(existing, sha.result()):
            return self._adopted(existing, sha.result())
        self._open_upload(sha)
        self._upload_missing()
        sha256 = sha.result()
        if self.expected_sha256 and sha256 != self.expected_sha256:
            raise ProviderError(
                f"{self.path} changed since it was produced (sha256 {sha256[:12]}…, "
                f"expected {self.expected_sha256[:12]}…)",
                address=self.ctx.address,
                hint="re-run `v2s plan` so the qcow2 artifact is rebuilt",
            )
        return self._complete(sha256)

    # -- steps --------------------------------------------------------------------------------

    def _sha_in_background(self) -> _Future:
        fut = _Future()

        def work() -> None:
            try:
                fut.set(file_sha256(self.path, self.ctx.cancelled))
            except BaseException as exc:
                fut.fail(exc)

        threading.Thread(target=work, name="v2s-sha256", daemon=True).start()
        return fut

    def _matches(self, obj: dict[str, Any], sha256: str) -> bool:
        meta = {k.lower(): v for k, v in (obj.get("Metadata") or {}).items()}
        return int(obj.get("ContentLength", -1)) == self.size and meta.get(SHA_META) == sha256

    def _adopted(self, obj: dict[str, Any], sha256: str) -> UploadResult:
        self.ctx.progress("upload", self.size, self.size, "object already uploaded")
        return UploadResult(
            etag=str(obj.get("ETag", "")), size=self.size, sha256=sha256,
            upload_id=str(self.prior.get("upload_id", "")),
            parts=math.ceil(self.size / self.part_size) or 1, part_size=self.part_size,
            bytes_sent=0, adopted=True,
        )

    def _open_upload(self, sha: _Future) -> None:
        """Reuse the checkpointed (or an orphan) upload when its parts fit; else create one."""
        candidates: list[str] = []
        if self.prior.get("upload_id") and self.prior.get("key") in (None, self.key):
            candidates.append(str(self.prior["upload_id"]))
        try:
            orphans = reversed(list_uploads(self.s3, self.bucket, self.key))
            candidates += [str(u["UploadId"]) for u in orphans if u["UploadId"] not in candidates]
        except Exception as exc:
            raise classify(exc, f"list uploads of s3://{self.bucket}/{self.key}",
                           self.ctx.address) from None
        for upload_id in candidates:
            try:
                parts = _list_parts(self.s3, self.bucket, self.key, upload_id)
            except Exception as exc:
                if error_code(exc) == "NoSuchUpload":
                    continue
                raise classify(exc, "list parts", self.ctx.address) from None
            if self.upload_id:
                self._abort(upload_id)  # a second orphan: nobody needs it
                continue
            if self._parts_fit(parts):
                self.upload_id = upload_id
                self._verify_listed(parts)
            else:
                self._abort(upload_id)
        if not self.upload_id:
            if SHA_META not in self.metadata:  # lets a later run adopt the finished object
                self.metadata[SHA_META] = self.expected_sha256 or sha.result()
            try:
                res = self.s3.create_multipart_upload(
                    Bucket=self.bucket, Key=self.key, Metadata=self.metadata,
                    ContentType="application/octet-stream",
                )
            except Exception as exc:
                raise classify(exc, "create multipart upload", self.ctx.address) from None
            self.upload_id = str(res["UploadId"])
        self._checkpoint(force=True)

    def _parts_fit(self, parts: dict[int, tuple[int, str]]) -> bool:
        expected = {n: length for n, _, length in _part_ranges(self.size, self.part_size)}
        return all(n in expected and size == expected[n] for n, (size, _) in parts.items())

    def _verify_listed(self, parts: dict[int, tuple[int, str]]) -> None:
        """Keep listed parts whose ETag is the MD5 of the local bytes (read, not sent)."""
        ranges = {n: (off, length) for n, off, length in _part_ranges(self.size, self.part_size)}

        def check(n: int, etag: str) -> None:
            off, length = ranges[n]
            digest = hashlib.md5(self._read(off, length)).digest()  # noqa: S324 - S3 ETag
            if f'"{digest.hex()}"' == etag:
                with self._lock:
                    self._done[n] = etag
                    self._md5[n] = digest
                    self._progress_bytes += length

        with ThreadPoolExecutor(self.concurrency) as pool:
            list(pool.map(lambda item: check(item[0], item[1][1]), parts.items()))
        self.ctx.progress("upload", self._progress_bytes, self.size,
                          f"resuming: {plural(len(self._done), 'part')} already stored")

    def _upload_missing(self) -> None:
        todo = [r for r in _part_ranges(self.size, self.part_size) if r[0] not in self._done]
        if not todo:
            return
        with ThreadPoolExecutor(self.concurrency, thread_name_prefix="v2s-part") as pool:
            futures = [pool.submit(self._send_part, n, off, length) for n, off, length in todo]
            done, _ = wait(futures, return_when=FIRST_EXCEPTION)
            failed = [f for f in done if f.exception() is not None]
            if failed:
                for f in futures:
                    f.cancel()
                wait(futures)
                self._checkpoint(force=True)
                exc = failed[0].exception()
                assert exc is not None
                raise exc
        self._checkpoint(force=True)

    def _send_part(self, n: int, off: int, length: int) -> None:
        if self.ctx.cancelled.is_set():
            raise TransientError("upload cancelled; the next run resumes it",
                                 address=self.ctx.address)
        body = self._read(off, length)
        digest = hashlib.md5(body).digest()  # noqa: S324 - S3 ETag / Content-MD5
        try:
            res = self.s3.upload_part(
                Bucket=self.bucket, Key=self.key, UploadId=self.upload_id, PartNumber=n,
                Body=body, ContentLength=length,
                ContentMD5=base64.b64encode(digest).decode(),  # the server rejects corruption
            )
        except Exception as exc:
            if error_code(exc) == "NoSuchUpload":
                raise TransientError(f"upload {self.upload_id} vanished; retry starts a new one",
                                     address=self.ctx.address) from None
            raise classify(exc, f"upload part {n}", self.ctx.address) from None
        etag = str(res.get("ETag", ""))
        if etag.strip('"') != digest.hex():
            raise TransientError(
                f"part {n}: stored ETag {etag} is not the MD5 of the bytes sent",
                address=self.ctx.address,
            )
        with self._lock:
            self._done[n] = etag
            self._md5[n] = digest
            self._sent += length
            self._progress_bytes += length
            done = self._progress_bytes
        self.ctx.progress("upload", done, self.size)
        self._checkpoint()

    def _complete(self, sha256: str) -> UploadResult:
        numbers = sorted(self._done)
        parts = [{"PartNumber": n, "ETag": self._done[n]} for n in numbers]
        try:
            self.s3.complete_multipart_upload(
                Bucket=self.bucket, Key=self.key, UploadId=self.upload_id,
                MultipartUpload={"Parts": parts},
            )
        except Exception as exc:
            if error_code(exc) != "NoSuchUpload":
                raise classify(exc, "complete multipart upload", self.ctx.address) from None
        obj = head(self.s3, self.bucket, self.key)
        expected = multipart_etag([self._md5[n] for n in numbers])
        if obj is None or int(obj.get("ContentLength", -1)) != self.size:
            raise TransientError("object missing or short after completing the upload",
                                 address=self.ctx.address)
        stored = str(obj.get("ETag", ""))
        if stored != expected and _MULTIPART_ETAG.match(stored):
            raise ProviderError(
                f"stored object ETag {obj.get('ETag')} != expected {expected}: corrupted upload",
                address=self.ctx.address, hint="destroy this s3_object and apply again",
            )
        meta = {k.lower(): v for k, v in (obj.get("Metadata") or {}).items()}
        if meta.get(SHA_META) not in (None, sha256):
            raise ProviderError("stored sha256 metadata does not match the local file",
                                address=self.ctx.address)
        self.ctx.progress("upload", self.size, self.size, "complete")
        return UploadResult(
            etag=expected, size=self.size, sha256=sha256, upload_id=self.upload_id,
            parts=len(numbers), part_size=self.part_size, bytes_sent=self._sent,
        )

    # -- helpers ------------------------------------------------------------------------------

    def _read(self, off: int, length: int) -> bytes:
        fd = os.open(self.path, os.O_RDONLY)
        try:
            chunks: list[bytes] = []
            got = 0
            while got < length:
                b = os.pread(fd, length - got, off + got)
                if not b:
                    raise ProviderError(f"{self.path} shrank while uploading",
                                        address=self.ctx.address)
                chunks.append(b)
                got += len(b)
            return b"".join(chunks)
        finally:
            os.close(fd)

    def _abort(self, upload_id: str) -> None:
        try:
            self.s3.abort_multipart_upload(Bucket=self.bucket, Key=self.key, UploadId=upload_id)
        except Exception as exc:
            if error_code(exc) != "NoSuchUpload":
                raise classify(exc, "abort stale upload", self.ctx.address) from None

    def _checkpoint(self, force: bool = False) -> None:
        now = time.monotonic()
        with self._lock:
            if not force and now - self._last_cp < self.checkpoint_every:
                return
            self._last_cp = now
            data = {
                "bucket": self.bucket, "key": self.key, "upload_id": self.upload_id,
                "size": self.size, "part_size": self.part_size,
                "parts": {str(n): e for n, e in sorted(self._done.items())},
            }
        self.ctx.checkpoint(data)


class _Future:
    """A one-shot value set by a background thread."""

    def __init__(self) -> None:
        self._ev = threading.Event()
        self._val: str | None = None
        self._exc: BaseException | None = None

    def set(self, v: str) -> None:
        self._val = v
        self._ev.set()

    def fail(self, e: BaseException) -> None:
        self._exc = e
        self._ev.set()

    def result(self) -> str:
        self._ev.wait()
        if self._exc is not None:
            raise self._exc
        assert self._val is not None
        return self._val


