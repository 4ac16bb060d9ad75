"""Fixtures for the vmware provider tests: a vcsim per module, a fake ApplyContext."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from v2s_vmware.provider import VMwareProvider

from tests.lab.vcsim import Vcsim
from vmware2scw.provider import Attrs, ConfigureRequest, lineage_tags

LINEAGE = "0123456789abcdef"


class FakeContext:
    """A minimal ApplyContext: records progress and checkpoints."""

    def __init__(self, address: str, work_dir: Path, operation: str = "apply") -> None:
        self.address = address
        self.lineage = LINEAGE
        self.work_dir = work_dir
        self.cancelled = threading.Event()
        self.operation = operation
        self.events: list[tuple[str, int | None, int | None, str]] = []
        self.checkpoints: list[Attrs] = []
        self.on_progress: Any = None

    @property
    def tags(self) -> tuple[str, ...]:
        return lineage_tags(self.lineage, self.address)

    def progress(self, phase: str, done: int | None = None, total: int | None = None,
                 message: str = "") -> None:
        self.events.append((phase, done, total, message))
        if self.on_progress is not None:
            self.on_progress(self, phase, done, total)

    def checkpoint(self, data: Attrs) -> None:
        self.checkpoints.append(dict(data))


@pytest.fixture(scope="module")
def vc() -> Iterator[Vcsim]:
    with Vcsim() as server:
        yield server


def make_provider(vc: Vcsim, tmp_path: Path, **settings: Any) -> VMwareProvider:
    p = VMwareProvider(environ={})
    p.configure(ConfigureRequest(settings=vc.settings(**settings), lineage=LINEAGE,
                                 work_dir=tmp_path))
    return p


@pytest.fixture
def provider(vc: Vcsim, tmp_path: Path) -> Iterator[VMwareProvider]:
    p = make_provider(vc, tmp_path, chunk_mb=1, parallel_chunks=3)
    yield p
    p.close()
