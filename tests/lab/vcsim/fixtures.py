"""Pytest fixtures for any test directory: ``from tests.lab.vcsim.fixtures import vcsim_server``.

Import the fixture into a ``conftest.py``; tests using it need the ``lab`` marker.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.lab.vcsim import Vcsim


@pytest.fixture(scope="session")
def vcsim_server() -> Iterator[Vcsim]:
    """One vcsim for the whole session (default VPX model, our certificate)."""
    with Vcsim() as vc:
        yield vc
