"""docs/config-reference.md is generated from schemas/config.schema.json and kept current."""

from __future__ import annotations

import json

from tests.lab import gen_config_docs
from vmware2scw.config import json_schema


def test_config_reference_is_up_to_date() -> None:
    assert gen_config_docs.main(["--check"]) == 0, (
        "docs/config-reference.md is stale: run `python -m tests.lab.gen_config_docs`")


def test_config_reference_lists_every_key_of_the_live_schema() -> None:
    page = gen_config_docs.render(json_schema())
    schema = json_schema()
    for name, block in schema["$defs"].items():
        for key in block.get("properties", {}):
            assert f"| `{key}` |" in page, f"{name}.{key} missing from the reference"


def test_a_stale_page_is_detected(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    page = tmp_path / "config-reference.md"
    page.write_text(gen_config_docs.render(json.loads(gen_config_docs.SCHEMA.read_text()))
                    .replace("Run settings.", "Old text."))
    monkeypatch.setattr(gen_config_docs, "PAGE", page)
    assert gen_config_docs.main(["--check"]) == 1
