"""A JSON "cloud" in one file, shared by processes through a file lock (fcntl)."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

Data = dict[str, Any]

_THREAD_LOCK = threading.RLock()


def _empty() -> Data:
    return {"objects": {}, "calls": [], "counters": {}, "seq": 0}


class Store:
    """Objects with tags, call records and failure counters; `None` path keeps it in memory."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._memory: Data = _empty()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Data]:
        """Lock, load, yield the data for mutation, then write it back atomically."""
        with _THREAD_LOCK:
            if self.path is None:
                yield self._memory
                return
            self.path.parent.mkdir(parents=True, exist_ok=True)
            lock_path = self.path.with_name(self.path.name + ".lock")
            with lock_path.open("a") as lock_file:
                fcntl.flock(lock_file.fileno(), fcntl.LOCK_EX)
                try:
                    data = self._load()
                    yield data
                    self._save(data)
                finally:
                    fcntl.flock(lock_file.fileno(), fcntl.LOCK_UN)

    def snapshot(self) -> Data:
        """A copy of the current data (for tests and `read`)."""
        with self.transaction() as data:
            copy: Data = json.loads(json.dumps(data))
            return copy

    def _load(self) -> Data:
        assert self.path is not None
        try:
            text = self.path.read_text()
        except FileNotFoundError:
            return _empty()
        data: Data = json.loads(text) if text.strip() else _empty()
        return data

    def _save(self, data: Data) -> None:
        assert self.path is not None
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".store-")
        try:
            with os.fdopen(fd, "w") as f:
                json.dump(data, f, indent=1, sort_keys=True)
                f.flush()
                os.fsync(f.fileno())
            Path(tmp).replace(self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


def live_objects(data: Data, lineage: str, address: str) -> list[Data]:
    """Objects not deleted that carry the lineage and address tags."""
    want = {f"v2s-lineage={lineage}", f"v2s-address={address}"}
    return [
        o
        for o in data["objects"].values()
        if not o.get("deleted") and want.issubset(set(o.get("tags", ())))
    ]
