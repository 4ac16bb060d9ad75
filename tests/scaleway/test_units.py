"""Pure helpers: tags, adoption loop, NIC mapping, sizes and deadlines."""

from __future__ import annotations

import pytest
from v2s_scaleway.adopt import create_once, has_tags, object_tags, tag_value, user_tags
from v2s_scaleway.client import MaybeAppliedError, retry_after
from v2s_scaleway.networks import map_networks
from v2s_scaleway.settings import ScalewaySettings
from v2s_scaleway.snapshot import import_size, timeout_for

from vmware2scw.diagnostics import Severity
from vmware2scw.errors import TransientError

TAGS = ("v2s-lineage=L", "v2s-address=migration.a.scw_server")


def test_tag_helpers() -> None:
    obj = ["x", *TAGS, "v2s-note"]
    assert has_tags(obj, TAGS) and not has_tags(["x", TAGS[0]], TAGS)
    assert tag_value(obj, "v2s-address") == "migration.a.scw_server"
    assert user_tags(obj) == ["x", "v2s-note"]
    assert object_tags(TAGS, ["x", TAGS[0], "x"]) == [*TAGS, "x"]


def test_ambiguous_create_failure_is_left_to_the_walker_which_then_adopts() -> None:
    made: list[str] = []

    def create() -> str:
        made.append("obj")  # the server made it ...
        raise MaybeAppliedError("POST: connection reset", retry_after=2.0)  # ... reply lost

    def find() -> str | None:
        return made[0] if made else None

    with pytest.raises(TransientError, match="finds the object by its tags") as err:
        create_once(find, create, what="server", address="a")
    assert err.value.retry_after == 2.0 and len(made) == 1  # no second create here
    obj, adopted = create_once(find, create, what="server", address="a")  # the walker's retry
    assert (obj, adopted, len(made)) == ("obj", True, 1)


def test_retry_after_header_is_read_as_seconds() -> None:
    assert retry_after("5") == 5.0 and retry_after("0.5") == 0.5
    assert retry_after(None) is None and retry_after("Wed, 21 Oct 2026 07:28:00 GMT") is None


def test_nics_map_in_mac_order_and_unmapped_is_an_error() -> None:
    nics = [{"mac": "00:50:56:00:00:0b", "network": "B"},
            {"mac": "00:50:56:00:00:0A", "network": "A"},
            {"mac": "00:50:56:00:00:0c", "network": "C"}]
    pns, diags = map_networks(nics, {"A": "pa", "B": "pb"}, drop_unmapped=False, address="s")
    assert pns == ["pa", "pb"]
    assert [d.severity for d in diags] == [Severity.ERROR] and "'C'" in diags[0].summary
    pns, diags = map_networks(nics, {"A": "pa"}, drop_unmapped=True, address="s")
    assert pns == ["pa"] and {d.severity for d in diags} == {Severity.INFO}


def test_import_size_and_deadline() -> None:
    assert import_size(None) is None
    assert import_size(1) == 10**9
    assert import_size(10 * 2**30) == 11 * 10**9
    st = ScalewaySettings(snapshot_timeout_base=100, snapshot_timeout_per_gib=10)
    assert timeout_for(st, 50 * 2**30) == 600


def test_filter_tag_avoids_commas() -> None:
    from v2s_scaleway.adopt import address_tag

    assert address_tag(TAGS) == TAGS[1]
    odd = ("v2s-lineage=L", 'v2s-address=migration.a["x,y"].scw_server')
    assert address_tag(odd) == "v2s-lineage=L"
