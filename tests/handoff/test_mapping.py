"""Each Terraform mapping against the scaleway/terraform-provider-scaleway doc it follows.

The docs live in that repository under docs/resources/; each test names its page and
checks the import ID form and the arguments the page (and the resource's schema) require.
"""

from __future__ import annotations

from v2s_scaleway.handoff import Nic, Observed, PublicIp, Volume, to_iac

from vmware2scw.provider import Expr, HandoffRecord, IacResource

ZONE = "fr-par-1"
SID = "11111111-1111-4111-8111-111111111111"


def record(**attrs: object) -> HandoffRecord:
    return HandoffRecord(address="migration.web-01.scw_server", type="scw_server",
                         attributes={"zone": ZONE, "id": SID, **attrs},
                         migration="web-01", name="web_01")


def observed(**over: object) -> Observed:
    base: dict[str, object] = {
        "id": SID, "zone": ZONE, "name": "web-01", "commercial_type": "PRO2-S", "state": "running",
        "tags": ("v2s-lineage=l", "app"),
        "volumes": (Volume(id="22222222-2222-4222-8222-222222222222", name="web-01-disk0",
                        size_bytes=20 * 10**9, iops=5000, tags=("app",),
                        snapshot_id="33333333-3333-4333-8333-333333333333"),)}
    return Observed.model_validate({**base, **over})


def by_type(resources: list[IacResource], rtype: str) -> list[IacResource]:
    return [r for r in resources if r.type == rtype]


def test_instance_server_md() -> None:
    """docs/resources/instance_server.md: import `{zone}/{id}`; `root_volume.volume_id` of an
    existing volume (then no `image`: the schema takes exactly one of them)."""
    res = to_iac(record(), observed())
    [server] = by_type(res, "scaleway_instance_server")
    assert server.import_id == f"{ZONE}/{SID}"
    assert server.arguments["type"] == "PRO2-S" and server.arguments["zone"] == ZONE
    assert server.arguments["state"] == "started"
    assert "image" not in server.arguments
    blocks = dict(server.blocks)
    root = Expr(text="scaleway_block_volume.web_01_disk0.id")
    assert blocks["root_volume"] == {"volume_id": root}
    assert Expr(text="image") in blocks["lifecycle"]["ignore_changes"]
    stopped = to_iac(record(), observed(state="stopped"))
    assert by_type(stopped, "scaleway_instance_server")[0].arguments["state"] == "stopped"


def test_block_volume_md() -> None:
    """docs/resources/block_volume.md: import `{zone}/{id}`; `iops` required; only one of
    `size_in_gb` and `snapshot_id`: the size, and the parent snapshot ignored."""
    from_snapshot = by_type(to_iac(record(), observed()), "scaleway_block_volume")[0]
    assert from_snapshot.import_id == f"{ZONE}/22222222-2222-4222-8222-222222222222"
    assert from_snapshot.arguments["iops"] == 5000
    assert from_snapshot.arguments["size_in_gb"] == 20
    assert "snapshot_id" not in from_snapshot.arguments
    assert dict(from_snapshot.blocks)["lifecycle"] == {
        "ignore_changes": [Expr(text="snapshot_id")]}
    blank = Volume(id="44444444-4444-4444-8444-444444444444", name="d", size_bytes=50 * 10**9,
                   iops=15000)
    by_size = by_type(to_iac(record(), observed(volumes=(blank,))), "scaleway_block_volume")[0]
    assert by_size.arguments["size_in_gb"] == 50 and by_size.blocks == ()


def test_instance_ip_md() -> None:
    """docs/resources/instance_ip.md: import `{zone}/{id}`, `type` routed_ipv4; the server
    points at it with `ip_id`. A dynamic IP is no resource: `enable_dynamic_ip`."""
    ip = PublicIp(id="55555555-5555-4555-8555-555555555555", address="51.15.0.1",
                  tags=("v2s-lineage=l",))
    res = to_iac(record(), observed(public_ips=(ip,)))
    [tf_ip] = by_type(res, "scaleway_instance_ip")
    assert tf_ip.import_id == f"{ZONE}/{ip.id}" and tf_ip.arguments["type"] == "routed_ipv4"
    server = by_type(res, "scaleway_instance_server")[0]
    assert server.arguments["ip_id"] == Expr(text="scaleway_instance_ip.web_01.id")
    # the provider reads `ip_id` back only when configured (empty after an import), and
    # an `ip_id` change detaches and re-attaches the IP: the file ignores it
    assert Expr(text="ip_id") in dict(server.blocks)["lifecycle"]["ignore_changes"]
    dynamic = PublicIp(id=ip.id, address="51.15.0.2", dynamic=True)
    res = to_iac(record(), observed(public_ips=(dynamic,)))
    assert by_type(res, "scaleway_instance_ip") == []
    assert by_type(res, "scaleway_instance_server")[0].arguments["enable_dynamic_ip"] is True


def test_flexible_ip_md() -> None:
    """docs/resources/flexible_ip.md is the Elastic Metal flexible IP: an Instance's
    flexible IP is a `scaleway_instance_ip`, never a `scaleway_flexible_ip`."""
    ip = PublicIp(id="55555555-5555-4555-8555-555555555555", address="51.15.0.1")
    res = to_iac(record(), observed(public_ips=(ip,)))
    assert by_type(res, "scaleway_flexible_ip") == []
    assert len(by_type(res, "scaleway_instance_ip")) == 1


def test_instance_private_nic_md() -> None:
    """docs/resources/instance_private_nic.md: import `{zone}/{server_id}/{private_nic_id}`;
    `server_id` and `private_network_id` required; the server ignores `private_network`."""
    nic = Nic(id="66666666-6666-4666-8666-666666666666",
              private_network_id="77777777-7777-4777-8777-777777777777")
    res = to_iac(record(), observed(nics=(nic,)))
    [tf_nic] = by_type(res, "scaleway_instance_private_nic")
    assert tf_nic.import_id == f"{ZONE}/{SID}/{nic.id}"
    assert tf_nic.arguments["server_id"] == Expr(text="scaleway_instance_server.web_01.id")
    assert tf_nic.arguments["private_network_id"] == f"fr-par/{nic.private_network_id}"
    server = by_type(res, "scaleway_instance_server")[0]
    assert Expr(text="private_network") in dict(server.blocks)["lifecycle"]["ignore_changes"]


def test_instance_security_group_md() -> None:
    """docs/resources/instance_security_group.md: a group v2s attached (but never created)
    is referenced as `security_group_id = "{zone}/{id}"`, not imported; none when unset."""
    sg = "88888888-8888-4888-8888-888888888888"
    res = to_iac(record(security_group=sg), observed(security_group_id=sg))
    assert by_type(res, "scaleway_instance_security_group") == []
    server = by_type(res, "scaleway_instance_server")[0]
    assert server.arguments["security_group_id"] == f"{ZONE}/{sg}"
    res = to_iac(record(security_group=None), observed(security_group_id=sg))
    assert "security_group_id" not in by_type(res, "scaleway_instance_server")[0].arguments
