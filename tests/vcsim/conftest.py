"""A vcsim per module and a v2s_vmware Session on it; scenario VMs made per test."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import pytest
from v2s_vmware.session import Session
from v2s_vmware.settings import resolve

from tests.lab.scenario import VM, Disk, load
from tests.lab.vcsim import Vcsim
from tests.vcsim.vsphere import vm_ref

_names = itertools.count()


@pytest.fixture(scope="module")
def vc() -> Iterator[Vcsim]:
    with Vcsim(vms_per_pool=0) as server:
        yield server


@pytest.fixture(scope="module")
def session(vc: Vcsim) -> Iterator[Session]:
    s = Session(resolve(vc.settings(), {}))
    yield s
    s.close()


def make_vm(vc: Vcsim, session: Session, *disks: Disk, power_on: bool = True) -> tuple[str, Any]:
    """A scenario VM with the given disks: (moref, pyvmomi VM)."""
    name = f"vm-{next(_names)}"
    moref = load(vc, [VM(name, disks=disks, power_on=power_on)]).morefs[name]
    return moref, vm_ref(session, moref)
