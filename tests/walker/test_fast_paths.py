"""Fast paths kept for 1,000-migration plans: the test provider's inventory, GC pauses."""

from __future__ import annotations

import gc
import threading

from tests.walker.helpers import make_provider
from vmware2scw.gcpause import paused_gc
from vmware2scw.provider import InventoryRequest


def test_inventory_matches_exact_names_and_globs(tmp_path) -> None:
    names = ["web-01", "web-02", "db-1", "db-2", "x[1]", "x1", "Web-03"]
    prov = make_provider(tmp_path, vms=[{"name": n} for n in names])

    def inv(*patterns: str) -> list[str]:
        return [vm.name for vm in prov.inventory(InventoryRequest(patterns=patterns)).vms]

    assert inv() == sorted(names)
    assert inv("web-02", "db-1") == ["db-1", "web-02"]
    assert inv("web-*") == ["web-01", "web-02"]  # case-sensitive, as vCenter names
    assert inv("db-[2]", "web-01") == ["db-2", "web-01"]
    assert inv("x[1]") == ["x1", "x[1]"]  # the name itself, and the glob's match
    assert inv("x[[]1]") == ["x[1]"]
    assert inv("nope", "we?-0?") == ["web-01", "web-02"]


def test_paused_gc_nests_and_restores_the_collector() -> None:
    assert gc.isenabled()
    with paused_gc():
        assert not gc.isenabled()
        with paused_gc():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the outer block still holds it
    assert gc.isenabled()
    gc.disable()
    try:
        with paused_gc():
            pass
        assert not gc.isenabled()  # off before, off after
    finally:
        gc.enable()


def test_paused_gc_across_threads_enables_once_the_last_block_ends() -> None:
    inside, release = threading.Event(), threading.Event()

    def worker() -> None:
        with paused_gc():
            inside.set()
            release.wait(10)

    t = threading.Thread(target=worker)
    t.start()
    assert inside.wait(10)
    with paused_gc():
        pass
    assert not gc.isenabled()  # the worker's block is still open
    release.set()
    t.join(10)
    assert gc.isenabled()
