"""expand(): the resource chain of docs/resources.md, wildcards, references, secrets."""

from __future__ import annotations

import time

import pytest

from tests.config.helpers import LINEAGE, PROVIDERS, expand_text, inventory, vm
from vmware2scw.config import ConfigError, expand, loads
from vmware2scw.config.interpolate import references

ONE = (
    """v2s: 1
migrations:
  web-01:
    source: { vm: web-server-01 }
    target: { type: PRO2-S, zone: nl-ams-1, tags: [t1], drop_unmapped_nics: true }
    cutover: { power_off_source: true }
    convert: { compress: true }
    verify: { boot: true, tcp: [22] }
    priority: 4
    prevent_destroy: true
"""
    + PROVIDERS
)


def test_two_disk_chain_has_the_documented_addresses_and_edges() -> None:
    d = expand_text(ONE, vm("web-server-01", disks=2, num_cpus=4, memory_mb=8192))
    p = "migration.web-01."
    assert list(d.resources) == [
        p + a
        for a in (
            "vmware_snapshot",
            "disk_export[0]",
            "disk_export[1]",
            "qcow2_artifact[0]",
            "qcow2_artifact[1]",
            "s3_object[0]",
            "scw_snapshot[0]",
            "s3_object[1]",
            "scw_snapshot[1]",
            "scw_image",
            "scw_server",
        )
    ]
    r = d.resources
    assert r[p + "vmware_snapshot"].depends_on == frozenset()
    assert r[p + "disk_export[1]"].depends_on == {p + "vmware_snapshot"}
    assert r[p + "qcow2_artifact[0]"].depends_on == {p + "disk_export[0]", p + "disk_export[1]"}
    assert r[p + "s3_object[1]"].depends_on == {p + "qcow2_artifact[1]"}
    assert r[p + "scw_snapshot[1]"].depends_on == {p + "s3_object[1]"}
    assert r[p + "scw_image"].depends_on == {p + "scw_snapshot[0]", p + "scw_snapshot[1]"}
    assert r[p + "scw_server"].depends_on == {p + "scw_image"}
    for res in r.values():
        assert {a for a, _ in references(res.attributes)} <= res.depends_on
        assert res.migration == "web-01" and res.priority == 4
        assert res.transient == (
            res.type in ("vmware_snapshot", "disk_export", "qcow2_artifact", "s3_object")
        )
        assert res.prevent_destroy == (not res.transient)
        assert res.pos is not None and (res.pos.line, res.pos.column) == (3, 3)
    assert {res.provider for res in r.values()} == {"vmware", "qemu", "scaleway"}


def test_chain_attributes() -> None:
    d = expand_text(
        ONE,
        vm(
            "web-server-01",
            disks=2,
            num_cpus=4,
            memory_mb=8192,
            power_state="poweredOn",
            tools_status="toolsOk",
        ),
    )
    p = "migration.web-01."
    a = {addr[len(p) :]: res.attributes for addr, res in d.resources.items()}
    assert a["vmware_snapshot"] == {
        "vm": "web-server-01",
        "vm_uuid": "uuid-web-server-01",
        "name": "v2s-0123abcd",
        "quiesce": False,
        "power_off_source": True,
    }
    assert a["disk_export[1]"] == {
        "vm": "web-server-01",
        "disk_key": 2001,
        "disk_index": 1,
        "disk_file": "[ds1] web-server-01/web-server-01_1.vmdk",
        "datastore": "ds1",
        "capacity_bytes": 10 * 1024**3,
        "snapshot": "${migration.web-01.vmware_snapshot.snapshot_moref}",
    }
    assert a["qcow2_artifact[1]"]["disks"] == [
        "${migration.web-01.disk_export[0].path}",
        "${migration.web-01.disk_export[1].path}",
    ]
    assert a["qcow2_artifact[1]"]["disk_sha256"] == "${migration.web-01.disk_export[1].sha256}"
    assert a["qcow2_artifact[0]"]["compress"] is True and a["qcow2_artifact[0]"]["verify_boot"]
    assert a["s3_object[1]"] == {
        "source_path": "${migration.web-01.qcow2_artifact[1].path}",
        "source_sha256": "${migration.web-01.qcow2_artifact[1].sha256}",
        "bucket": "v2s-transit-0123abcd",
        "key": "0123abcd/web-01/disk1.qcow2",
        "region": "nl-ams",
    }
    assert a["scw_snapshot[0]"]["size_bytes"] == 11_000_000_000
    assert a["scw_snapshot[0]"]["key"] == "${migration.web-01.s3_object[0].key}"
    assert a["scw_image"]["root_snapshot_id"] == "${migration.web-01.scw_snapshot[0].id}"
    assert a["scw_image"]["extra_snapshot_ids"] == ["${migration.web-01.scw_snapshot[1].id}"]
    srv = a["scw_server"]
    assert srv["name"] == "web-server-01" and srv["commercial_type"] == "PRO2-S"
    assert srv["image_id"] == "${migration.web-01.scw_image.id}" and srv["tags"] == ["t1"]
    assert srv["verify_tcp"] == [22] and srv["source_cpus"] == 4
    assert srv["source_memory_mb"] == 8192 and srv["zone"] == "nl-ams-1"
    assert d.source_digests == {"web-server-01": "cv-web-server-01"}
    assert set(d.providers) == {"vmware", "qemu", "scaleway"}
    assert d.providers["vmware"].source == "test"


WAVE = (
    """v2s: 1
defaults:
  target: { type: PRO2-M, drop_unmapped_nics: true }
migrations:
  app:
    source: { vm: "app-*" }
  db:
    source: { vm: db-01 }
"""
    + PROVIDERS
)


def test_wildcard_gives_one_stable_instance_per_vm_and_one_inventory_call() -> None:
    vms = [vm("app-2"), vm("app-10"), vm("db-01"), vm("other"), vm('app-"q"')]
    hook = inventory(*vms)
    d, _ = expand(loads(WAVE), lineage=LINEAGE, inventory=hook)
    assert hook.calls == [("vmware", ("app-*", "db-01"))]  # type: ignore[attr-defined]
    servers = [a for a in d.resources if a.endswith(".scw_server")]
    assert servers == [
        'migration.app["app-\\"q\\""].scw_server',
        'migration.app["app-10"].scw_server',
        'migration.app["app-2"].scw_server',
        "migration.db-01.scw_server".replace("db-01", "db"),
    ]
    inst = d.resources['migration.app["app-2"].scw_server']
    assert inst.migration == 'app["app-2"]' and inst.attributes["name"] == "app-2"
    assert inst.attributes["image_id"] == '${migration.app["app-2"].scw_image.id}'
    key = d.resources['migration.app["app-\\"q\\""].s3_object[0]'].attributes["key"]
    assert key == "0123abcd/app/app--q/disk0.qcow2"
    # stable: reordering the inventory changes nothing
    d2, _ = expand(loads(WAVE), lineage=LINEAGE, inventory=inventory(*reversed(vms)))
    assert d2 == d


@pytest.mark.parametrize(
    ("vms", "expected"),
    [
        ([vm("db-01")], "v2s.yaml:6:19: pattern 'app-*' matches no VM of provider 'vmware'"),
        (
            [vm("app-1"), vm("db-1")],
            "v2s.yaml:8:19: VM 'db-01' matches no VM of provider 'vmware' "
            "(list them with `v2s inventory`)",
        ),
        ([vm("app-1"), vm("db-01", disks=0)], "v2s.yaml:8:19: VM 'db-01' has no disks"),
        ([vm("app-1"), vm("db-01"), vm("db-01")], "v2s.yaml:8:19: 2 VMs are named 'db-01'"),
    ],
)
def test_matching_errors(vms: list, expected: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(ConfigError) as info:
        expand_text(WAVE, *vms)
    assert str(info.value).startswith(expected), str(info.value)


def test_a_vm_matched_twice_is_an_error() -> None:
    text = WAVE.replace("db-01 }", '"app-1" }')
    with pytest.raises(
        ConfigError,
        match=r"v2s\.yaml:8:19: VM 'app-1' is already migrated by "
        r"migration\.app\[\"app-1\"\]",
    ):
        expand_text(text, vm("app-1"))


def test_network_mapping_keeps_mac_order_and_unmapped_nics_fail() -> None:
    text = (
        """v2s: 1
migrations:
  web:
    source: { vm: w }
    target:
      type: PRO2-S
      network_mapping: { front: pn-front, back: pn-back }
"""
        + PROVIDERS
    )
    nics = (("00:50:56:00:00:02", "back"), ("00:50:56:00:00:01", "front"))
    d = expand_text(text, vm("w", nics=nics))
    assert d.resources["migration.web.scw_server"].attributes["private_networks"] == [
        "pn-front",
        "pn-back",
    ]
    more = (*nics, ("00:50:56:00:00:03", "dmz"))
    with pytest.raises(
        ConfigError,
        match=r"^v2s\.yaml:3:3: migration\.web: NIC "
        r"00:50:56:00:00:03 .*'dmz'.*drop_unmapped_nics",
    ):
        expand_text(text, vm("w", nics=more))
    dropped = expand_text(
        text.replace("type: PRO2-S", "type: PRO2-S\n      drop_unmapped_nics: true"),
        vm("w", nics=more),
    )
    assert dropped.resources["migration.web.scw_server"].attributes["private_networks"] == [
        "pn-front",
        "pn-back",
    ]


REFS = (
    """v2s: 1
defaults:
  target: { type: PRO2-S }
migrations:
  db:
    source: { vm: db }
  web:
    source: { vm: web }
    target: { name: "web-${migration.db.scw_server.id}" }
outputs:
  ip: { value: "${migration.web.scw_server.public_ip_address}", description: public }
"""
    + PROVIDERS
)


def test_references_become_dependencies_and_outputs_pass_through() -> None:
    d = expand_text(REFS, vm("db"), vm("web"))
    web = d.resources["migration.web.scw_server"]
    assert "migration.db.scw_server" in web.depends_on
    assert d.resources["migration.web.scw_snapshot[0]"].attributes["name"] == (
        "web-${migration.db.scw_server.id}-disk0"
    )
    assert d.outputs == {
        "ip": {
            "value": "${migration.web.scw_server.public_ip_address}",
            "description": "public",
            "sensitive": False,
        }
    }


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "migration.db.scw_server.id",
            "migration.dbb.scw_server.id",
            "v2s.yaml:9:21: reference to migration.dbb.scw_server.id: no such resource; "
            "the nearest existing address is migration.db.scw_server",
        ),
        (
            "migration.db.scw_server.id",
            "migration.db.scw_server.idd",
            "v2s.yaml:9:21: reference to migration.db.scw_server.idd: scw_server has no attribute "
            "'idd'; did you mean 'id'?",
        ),
        (
            "migration.web.scw_server.public_ip_address",
            "migration.web.scw_image.public_ip",
            "v2s.yaml:11:16: reference to migration.web.scw_image.public_ip: scw_image has no attr",
        ),
    ],
)
def test_bad_references_name_the_nearest(old: str, new: str, expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        expand_text(REFS.replace(old, new), vm("db"), vm("web"))
    assert str(info.value).startswith(expected), str(info.value)


def test_undeclared_source_provider_and_missing_type() -> None:
    text = "v2s: 1\nmigrations:\n  a:\n    source: { vm: a, provider: vmwar }\n" + PROVIDERS
    with pytest.raises(ConfigError) as info:
        expand_text(text, vm("a"))
    assert str(info.value).startswith("v2s.yaml:4:32: source provider 'vmwar' is not declared")
    assert "did you mean 'vmware'" in str(info.value)
    text = "v2s: 1\nmigrations:\n  a:\n    source: { vm: a }\n" + PROVIDERS
    with pytest.raises(ConfigError, match=r"^v2s\.yaml:3:3: migration 'a' has no target\.type"):
        expand_text(text, vm("a"))


SECRETS = """v2s: 1
variables:
  pw: { sensitive: true }
providers:
  vmware:
    source: test
    url: https://vc
    password: "${var.pw}"
    user: "${env.VC_USER}"
    nested: { token: abc, list: [x] }
  scaleway: { source: test, secret_key: literal-secret, transit_bucket: my-bucket }
migrations:
  a:
    source: { vm: a }
    target: { type: PRO2-S }
"""


def test_sensitive_paths_and_digest_excludes_secrets() -> None:
    def run(pw: str, user: str, secret: str = "literal-secret", ty: str = "PRO2-S"):  # type: ignore[no-untyped-def]
        text = SECRETS.replace("literal-secret", secret).replace("PRO2-S", ty)
        loaded = loads(text, var_args=[f"pw={pw}"], environ={"VC_USER": user})
        return expand(loaded, lineage=LINEAGE, inventory=inventory(vm("a")))[0]

    d = run("hunter2", "bob")
    vmw = d.providers["vmware"]
    assert vmw.settings["password"] == "hunter2" and vmw.settings["user"] == "bob"
    assert vmw.sensitive_paths == {"password", "user", "nested.token"}
    assert d.providers["scaleway"].sensitive_paths == {"secret_key"}
    assert d.resources["migration.a.s3_object[0]"].attributes["bucket"] == "my-bucket"
    assert run("other", "alice", "other-secret").config_digest == d.config_digest
    assert run("hunter2", "bob", ty="PRO2-M").config_digest != d.config_digest
    dumped = d.model_dump_json(exclude={"providers"})
    assert "hunter2" not in dumped and "literal-secret" not in dumped


def test_expanding_1000_migrations_is_fast() -> None:
    lines = ["v2s: 1", "defaults:", "  target: { type: PRO2-S }", "migrations:"]
    vms = []
    for i in range(1000):
        lines.append(f"  m{i}:\n    source: {{ vm: vm-{i} }}\n    priority: {i % 5}")
        vms.append(vm(f"vm-{i}", disks=1 + (i % 2)))
    text = "\n".join(lines) + "\n" + PROVIDERS
    hook = inventory(*vms)
    start = time.process_time()  # CPU time: stable on a shared machine
    loaded = loads(text)
    desired, _ = expand(loaded, lineage=LINEAGE, inventory=hook)
    elapsed = time.process_time() - start
    print(f"load+expand 1000 migrations / {len(desired.resources)} resources: {elapsed:.3f}s")
    assert len(desired.resources) == 1000 * 7 + 500 * 4
    assert elapsed < 2.0  # typically ~0.3 s; generous for a shared 2-core machine


def test_a_wildcard_matching_two_vms_of_the_same_name_is_an_error() -> None:
    with pytest.raises(ConfigError, match=r"^v2s\.yaml:6:19: 2 VMs are named 'app-1'"):
        expand_text(WAVE, vm("app-1"), vm("app-1"), vm("db-01"))


def test_vm_names_with_template_characters_stay_text() -> None:
    from vmware2scw.config.interpolate import get_attribute, resolve
    from vmware2scw.values import UNKNOWN

    weird = 'we}i"rd ${x}'
    d = expand_text(WAVE, vm(weird.replace("we", "app-we")), vm("db-01"))
    state = {
        addr: {"path": f"/p/{addr}", "id": "i", "snapshot_moref": "s", "sha256": "h", "key": "k"}
        for addr in d.resources
    }

    def lookup(address: str, attr: str) -> object:
        return get_attribute(state[address], attr) if address in state else UNKNOWN

    for addr, res in d.resources.items():
        resolved, unknown = resolve(res.attributes, lookup)
        assert unknown == []
        if res.type in ("disk_export", "qcow2_artifact"):
            assert resolved["vm"] == 'app-we}i"rd ${x}' or resolved["vm"] == "db-01"
        if res.type == "qcow2_artifact" and "app-we" in addr:
            assert resolved["disks"] == [f"/p/{addr.replace('qcow2_artifact', 'disk_export')}"]
    assert 'app-we}i"rd ${x}' in d.source_digests
