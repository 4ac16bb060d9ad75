"""Address parsing and formatting."""

from __future__ import annotations

import pytest

from vmware2scw.addresses import Address, AddressError, parse, parse_reference, resource_address


@pytest.mark.parametrize(
    "text",
    [
        "migration.web-01.disk_export[0]",
        "migration.web-01.scw_server",
        'migration.app["app-03"].scw_server',
        'migration.app["we\\"ird ]name"].qcow2_artifact[12]',
        "migration.web-01",
        'migration.app["x"]',
    ],
)
def test_round_trip(text: str) -> None:
    assert str(parse(text)) == text


def test_fields() -> None:
    a = parse('migration.app["app-03"].disk_export[2]')
    assert (a.migration, a.key, a.type, a.index) == ("app", "app-03", "disk_export", 2)
    assert a.instance == 'app["app-03"]' and a.module == 'migration.app["app-03"]'
    assert resource_address("app", "scw_server", key="a b") == 'migration.app["a b"].scw_server'


@pytest.mark.parametrize(
    "text",
    [
        "web-01.scw_server",
        "migration.",
        "migration.x[",
        "migration.x.scw_server[a]",
        "migration.x.Bad",
        'migration.x["k"',
        "migration.x.scw_server.id",
    ],
)
def test_malformed(text: str) -> None:
    with pytest.raises(AddressError):
        parse(text)


def test_reference() -> None:
    addr, attr = parse_reference('migration.app["a.b"].scw_server.private_ips[0]')
    assert str(addr) == 'migration.app["a.b"].scw_server' and attr == "private_ips[0]"
    with pytest.raises(AddressError):
        parse_reference("migration.app.scw_server")
    with pytest.raises(AddressError):
        parse_reference("migration.app")


def test_contains_is_target_semantics() -> None:
    web = parse("migration.web")
    assert web.contains(parse("migration.web.disk_export[1]"))
    assert not web.contains(parse("migration.web2.scw_server"))
    app = parse("migration.app")
    assert app.contains(parse('migration.app["x"].scw_server'))
    exports = parse('migration.app["x"].disk_export')
    assert exports.contains(parse('migration.app["x"].disk_export[3]'))
    assert not exports.contains(parse('migration.app["y"].disk_export[3]'))
    assert not parse("migration.a.disk_export[0]").contains(parse("migration.a.disk_export[1]"))
    assert Address("a") < Address("b")


def test_any_vm_name_round_trips_as_an_instance_key() -> None:
    import random

    rng = random.Random(7)
    alphabet = 'ab-_. "\\]}[{$é中\t/'
    for _ in range(500):
        key = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 12)))
        addr = Address("app", key, "disk_export", rng.randint(0, 30))
        assert parse(str(addr)) == addr
        ref, attr = parse_reference(f"{addr}.path")
        assert ref == addr and attr == "path"
