"""Fixtures for the vmware provider tests: a vcsim per module, a fake ApplyContext."""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from v2s_vmware.provider import VMwareProvider

from tests.lab.vcsim import Vcsim
from vmware2scw.provider import ConfigureRequest
from vmware2scw.testing import RecordingContext

LINEAGE = "0123456789abcdef"


FakeContext = partial(RecordingContext, lineage=LINEAGE)  # (address, work_dir, operation=)


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
