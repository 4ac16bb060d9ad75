"""Provider secrets and sensitive attributes never reach a plan or its renderings."""

from __future__ import annotations

from pathlib import Path

from v2s_test.provider import TestProvider

from tests.golden.runner import LINEAGE
from vmware2scw.config import expand, loads
from vmware2scw.plan.planner import make_plan
from vmware2scw.plan.render_json import render_json
from vmware2scw.plan.render_markdown import render_markdown
from vmware2scw.plan.render_text import render_text
from vmware2scw.provider import ConfigureRequest, InventoryRequest
from vmware2scw.state.model import State

SECRET = "s3cr3t-Pa55w0rd-e3"
CONFIG = """\
v2s: 1
providers:
  vmware:
    source: test
    password: "${env.V2S_E3_PASSWORD}"
    vms: [{name: web, disks: [{key: 2000, capacity_bytes: 1073741824}]}]
  qemu: {source: test}
  scaleway: {source: test, password: "${env.V2S_E3_PASSWORD}"}
migrations:
  web: {source: {vm: web}, target: {type: PRO2-S}}
"""


def test_no_secret_in_plan_text_json_or_markdown():
    loaded = loads(CONFIG, environ={"V2S_E3_PASSWORD": SECRET})
    providers = {}
    for name in ("vmware", "qemu", "scaleway"):
        p = TestProvider()
        settings = {k: v for k, v in loaded.config.providers[name].items() if k != "source"}
        p.configure(ConfigureRequest(settings=settings, lineage=LINEAGE, work_dir=Path()))
        providers[name] = p
    desired, _ = expand(loaded, lineage=LINEAGE, inventory=lambda n, pats: providers[
        n].inventory(InventoryRequest(patterns=pats)))
    assert SECRET in str(desired.providers["vmware"].settings)  # it was really there
    plan = make_plan(desired, State(lineage=LINEAGE), providers)
    assert plan.changes
    for text in (render_json(plan), render_text(plan), render_markdown(plan), repr(plan)):
        assert SECRET not in text
