"""A small ApplyContext for driving the Scaleway provider without the walker."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

from vmware2scw.provider import lineage_tags


class FakeContext:
    """Records progress and checkpoints; optionally persists checkpoints to a JSON file."""

    def __init__(
        self,
        address: str,
        lineage: str = "11111111-2222-3333-4444-555555555555",
        work_dir: Path | None = None,
        checkpoint_file: Path | None = None,
    ):
        self.address = address
        self.lineage = lineage
        self.work_dir = work_dir or Path("/tmp")
        self.cancelled = threading.Event()
        self.events: list[tuple[str, int | None, int | None, str]] = []
        self.checkpoints: list[dict[str, Any]] = []
        self.checkpoint_file = checkpoint_file
        self._lock = threading.Lock()

    @property
    def tags(self) -> tuple[str, ...]:
        return lineage_tags(self.lineage, self.address)

    def progress(
        self, phase: str, done: int | None = None, total: int | None = None, message: str = ""
    ) -> None:
        with self._lock:
            self.events.append((phase, done, total, message))

    def checkpoint(self, data: dict[str, Any]) -> None:
        with self._lock:
            self.checkpoints.append(json.loads(json.dumps(data)))
            if self.checkpoint_file is not None:
                tmp = self.checkpoint_file.with_suffix(".tmp")
                tmp.write_text(json.dumps(data))
                tmp.replace(self.checkpoint_file)

    @property
    def last_checkpoint(self) -> dict[str, Any] | None:
        return self.checkpoints[-1] if self.checkpoints else None
