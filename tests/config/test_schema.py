"""schemas/config.schema.json must match the models, and accept what load() accepts.

Set V2S_UPDATE_GOLDEN=1 (or run `v2s schema --write schemas`) to regenerate it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from vmware2scw.config import json_schema, loads, yamlsrc
from vmware2scw.config.schema import schema_text

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = ROOT / "schemas" / "config.schema.json"


def test_schema_file_is_current() -> None:
    text = schema_text()
    if os.environ.get("V2S_UPDATE_GOLDEN") == "1":
        SCHEMA.write_text(text)
    assert SCHEMA.exists() and SCHEMA.read_text() == text, (
        "schemas/config.schema.json is out of date: run `V2S_UPDATE_GOLDEN=1 pytest "
        "tests/config/test_schema.py` (or `v2s schema --write schemas`) and commit it"
    )


def test_schema_text_matches_the_cli_format() -> None:
    expected = json.dumps(json_schema(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    assert schema_text() == expected


GOOD = """v2s: 1
variables:
  pub: { type: bool, default: false }
providers:
  vmware: { source: test, url: "https://vc", vms: [] }
defaults:
  target: { type: PRO2-S, public_ip: "${var.pub}", volume_type: sbs_15k }
migrations:
  web:
    source: { vm: "web-*" }
    verify: { tcp: [22, 443] }
    priority: 2
outputs:
  ip: { value: "${migration.web.scw_server.public_ip_address}" }
"""


def _validate(text: str) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads(SCHEMA.read_text())
    jsonschema.validate(yamlsrc.parse(text, "x").data, schema)


def test_schema_accepts_a_valid_config_with_templates() -> None:
    loads(GOOD)  # the loader agrees it is valid
    _validate(GOOD)


def test_examples_validate() -> None:
    examples = sorted((ROOT / "examples").glob("*.yaml"))
    for path in examples:
        _validate(path.read_text())


@pytest.mark.parametrize(
    "change",
    [
        ("priority: 2", "priorty: 2"),
        ("tcp: [22, 443]", "tcp: [22, 70000]"),
        ("v2s: 1", "v2s: 2"),
        ("volume_type: sbs_15k", "volume_type: ssd"),
    ],
)
def test_schema_rejects_what_the_loader_rejects(change: tuple[str, str]) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    bad = GOOD.replace(*change)
    with pytest.raises(jsonschema.ValidationError):
        _validate(bad)
