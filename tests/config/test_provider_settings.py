"""Provider settings are checked against the plug-in's settings_model at expansion, with
file:line:col, without echoing values (they may be secrets)."""

from __future__ import annotations

import pytest

from tests.config.helpers import vm
from vmware2scw.config import ConfigError, expand, loads, static_inventory

CONFIG = """v2s: 1
providers:
  vmware:
    url: https://vc.example/sdk
    usernmae: admin
    password: hunter2-secret
  scaleway: {transit_bucket: b, zone: 12}
migrations:
  web-01:
    source: {vm: web-01}
    target: {type: PRO2-S}
"""


def test_unknown_and_mistyped_settings_are_located() -> None:
    with pytest.raises(ConfigError) as info:
        expand(loads(CONFIG), lineage="1" * 32, inventory=static_inventory([vm("web-01")]))
    text = str(info.value)
    assert "v2s.yaml:5:5: unknown vmware provider setting 'usernmae' in providers.vmware; " \
           "did you mean 'username'?" in text
    assert "v2s.yaml:7:39: providers.scaleway.zone: Input should be a valid string" in text
    assert "hunter2" not in text and "admin" not in text
