"""Child process for the kill-and-resume test: upload a file, checkpointing to a JSON file."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from v2s_scaleway.s3client import make_s3_client
from v2s_scaleway.s3upload import Uploader

from tests.lab.s3 import ACCESS_KEY, REGION, SECRET_KEY
from vmware2scw.testing import RecordingContext


class _Slow:
    """Wraps an S3 client so each part takes at least ``delay`` seconds (kill window)."""

    def __init__(self, s3: object, delay: float):
        self._s3, self._delay = s3, delay

    def __getattr__(self, name: str) -> object:
        return getattr(self._s3, name)

    def upload_part(self, **kw: object) -> object:
        time.sleep(self._delay)
        return self._s3.upload_part(**kw)  # type: ignore[attr-defined]


def main() -> None:
    endpoint, bucket, key, path, cp_file = sys.argv[1:6]
    s3 = make_s3_client(region=REGION, endpoint=endpoint, access_key=ACCESS_KEY,
                        secret_key=SECRET_KEY)
    ctx = RecordingContext("migration.x.s3_object[0]", checkpoint_file=Path(cp_file))
    prior = json.loads(Path(cp_file).read_text()) if Path(cp_file).exists() else None
    Uploader(_Slow(s3, 0.05), path=Path(path), bucket=bucket, key=key, ctx=ctx,
             checkpoint=prior, concurrency=4, checkpoint_every=0.0).run()


if __name__ == "__main__":
    main()
