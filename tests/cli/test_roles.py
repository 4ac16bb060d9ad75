"""Roles are bound to provider blocks by the config, never by fixed local names."""

from __future__ import annotations

from pathlib import Path

from tests.cli.helpers import live, project_config, run, write_config
from tests.config.helpers import vm
from vmware2scw.config import expand, loads, static_inventory


def test_renamed_blocks_bound_by_role_still_migrate(tmp_path: Path, capsys) -> None:
    cfg = project_config(vms=1)
    blocks = cfg["providers"]
    cfg["providers"] = {"vcenter": blocks["vmware"], "convert-box": blocks["qemu"],
                        "cloud": blocks["scaleway"]}
    cfg["defaults"] = {"source": {"provider": "vcenter"}, "convert": {"provider": "convert-box"},
                       "target": {"provider": "cloud"}}
    write_config(tmp_path, cfg)
    r = run(capsys, tmp_path, "apply", "-auto-approve")
    assert r.code == 0, r.text
    assert set(live(tmp_path)) == {f"migration.m00.{k}" for k in
                                   ("scw_snapshot[0]", "scw_image", "scw_server")}
    r = run(capsys, tmp_path, "state", "show", "migration.m00.scw_server")
    assert r.code == 0 and "cloud" in r.out, r.text


def test_a_renamed_scaleway_block_is_the_target_without_binding() -> None:
    loaded = loads("""v2s: 1
providers:
  vcenter: {source: vmware, url: https://vc.example/sdk}
  cloud: {source: scaleway, transit_bucket: my-bucket}
migrations:
  web-01:
    source: {vm: web-server-01}
    target: {type: PRO2-S}
""")
    desired, _ = expand(loaded, lineage="1" * 32, inventory=static_inventory([vm("web-server-01")]))
    providers = {r.type: r.provider for r in desired.resources.values()}
    assert providers["vmware_snapshot"] == "vcenter"
    assert providers["qcow2_artifact"] == "qemu"  # implicit: the default converter
    assert providers["scw_server"] == providers["s3_object"] == "cloud"
    assert desired.resources["migration.web-01.s3_object[0]"].attributes["bucket"] == "my-bucket"
    assert set(desired.providers) == {"vcenter", "qemu", "cloud"}
