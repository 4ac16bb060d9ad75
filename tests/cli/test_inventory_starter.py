"""`v2s inventory --yaml`: a starter `migrations:` block, typed from the Scaleway catalogue."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from v2s_scaleway.provider import ScalewayProvider

from tests.cli.helpers import project_config, run, write_config
from tests.lab.scwsim import Simulator
from vmware2scw.config import loads
from vmware2scw.provider import ConfigureRequest


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with Simulator() as s:
        yield s


def _vms(cfg: dict) -> dict:
    vms = cfg["providers"]["vmware"]["vms"]
    vms[1].update(name="Big DB 01", num_cpus=8, memory_mb=30000)
    return cfg


def test_starter_block_without_a_catalogue_asks_for_a_type(tmp_path: Path, capsys) -> None:
    write_config(tmp_path, _vms(project_config()))
    r = run(capsys, tmp_path, "inventory", "--yaml")
    assert r.code == 0, r.text
    starter = yaml.safe_load(r.out)
    assert starter == {"migrations": {
        "vm-00": {"source": {"vm": "vm-00"}, "target": {"type": "CHOOSE-A-TYPE"}},
        "big-db-01": {"source": {"vm": "Big DB 01"}, "target": {"type": "CHOOSE-A-TYPE"}}}}
    # table and --json stay as they were
    assert "vm-00  2 vCPU  2048 MiB" in run(capsys, tmp_path, "inventory").out
    assert '"name": "Big DB 01"' in run(capsys, tmp_path, "inventory", "--json").out


@pytest.mark.lab
def test_starter_block_suggests_the_cheapest_fitting_scaleway_type(
        tmp_path: Path, capsys, sim: Simulator, monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in {**sim.env, "SCW_CONFIG_PATH": str(tmp_path / "none.yaml")}.items():
        monkeypatch.setenv(key, value)
    cfg = _vms(project_config())
    cfg["providers"]["scaleway"] = {"transit_bucket": "v2s-transit-starter"}
    write_config(tmp_path, cfg)
    r = run(capsys, tmp_path, "inventory", "--yaml")
    assert r.code == 0, r.text
    migrations = yaml.safe_load(r.out)["migrations"]
    small, big = (migrations[k]["target"]["type"] for k in ("vm-00", "big-db-01"))
    prov = ScalewayProvider()
    prov.configure(ConfigureRequest(settings={}, lineage="l", work_dir=tmp_path))
    catalogue = prov.catalogue_map()
    assert catalogue[small]["ncpus"] >= 2 and catalogue[big]["ncpus"] >= 8
    assert catalogue[big]["ram"] >= 30000 * 2**20
    fits = [t for t in catalogue.values() if t["ncpus"] >= 2 and t["ram"] >= 2048 * 2**20
            and t["arch"] == "x86_64"]
    assert catalogue[small]["monthly_price"] == min(t["monthly_price"] for t in fits)
    # the block pastes into a config as it is
    text = "v2s: 1\n" + r.out
    assert set(loads(text).config.migrations) == {"vm-00", "big-db-01"}


def test_starter_block_selects_exactly_each_vm_whatever_its_name(tmp_path: Path,
                                                                  capsys) -> None:
    cfg = project_config(vms=5)
    names = ["db-${env}", "web[1]", "web1", "a*b", "a-b"]  # web[1] as a glob would match web1
    for vm, name in zip(cfg["providers"]["vmware"]["vms"], names, strict=True):
        vm["name"] = name.replace("${", "$${")  # the test provider reads its VMs from here
    cfg["migrations"] = {}
    del cfg["outputs"]
    write_config(tmp_path, cfg)
    r = run(capsys, tmp_path, "inventory", "--yaml")
    assert r.code == 0, r.text
    assert "$${env}" in r.out
    (tmp_path / "v2s.yaml").write_text(
        (tmp_path / "v2s.yaml").read_text().replace("migrations: {}\n", "") + r.out)
    r = run(capsys, tmp_path, "validate", "--json")
    assert r.code == 0, r.text
    r = run(capsys, tmp_path, "plan", "--json")
    assert r.code == 0, r.text
    plan = json.loads(r.out)
    chosen = {ch["after"]["vm"] for ch in plan["changes"]
              if ch["type"] == "vmware_snapshot"}
    assert chosen == set(names)  # each VM once: no glob took a neighbour, no ${ evaluated
