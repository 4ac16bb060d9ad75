"""`v2s inventory` data: rows and the starter migrations block with suggested types."""

from __future__ import annotations

import yaml
from v2s_vmware.starter import migration_key, rows, starter_yaml, suggest_type

from vmware2scw.provider import DiskFacts, VMFacts

GiB = 2**30
CATALOGUE = {
    "PRO2-XXS": {"ncpus": 2, "ram": 8 * GiB, "arch": "x86_64", "monthly_price": 40.0},
    "PLAY2-MICRO": {"ncpus": 4, "ram": 8 * GiB, "arch": "x86_64", "monthly_price": 39.0},
    "PRO2-S": {"ncpus": 8, "ram": 32 * GiB, "arch": "x86_64", "monthly_price": 160.0},
    "COPARM1-8C": {"ncpus": 8, "ram": 32 * GiB, "arch": "arm64", "monthly_price": 10.0},
}


def _vm(name: str, cpus: int, mem_mb: int) -> VMFacts:
    return VMFacts(name=name, num_cpus=cpus, memory_mb=mem_mb,
                   disks=(DiskFacts(key=1, label="d", capacity_bytes=10**10),))


def test_cheapest_fitting_type_and_starter_yaml() -> None:
    small, big, huge = _vm("Web 01", 2, 4096), _vm("db", 6, 16384), _vm("hpc", 64, 10**6)
    assert suggest_type(small, CATALOGUE) == "PLAY2-MICRO"  # cheaper than PRO2-XXS
    assert suggest_type(big, CATALOGUE) == "PRO2-S"  # the arm64 type is never suggested
    assert suggest_type(huge, CATALOGUE) is None
    doc = yaml.safe_load(starter_yaml([small, big, huge], CATALOGUE))
    assert doc["migrations"]["web-01"] == {"source": {"vm": "Web 01"},
                                           "target": {"type": "PLAY2-MICRO"}}
    assert doc["migrations"]["hpc"]["target"]["type"] == "CHOOSE-A-TYPE"
    assert rows([small])[0]["disk_gb"] == 10.0 and migration_key("../x") == "x"
