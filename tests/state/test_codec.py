"""The state file format: deterministic JSON, version checks, corrupt-file errors."""

from __future__ import annotations

import json

import pytest

from tests.state.conftest import resource, sample_state
from vmware2scw.errors import StateError
from vmware2scw.state import codec
from vmware2scw.state.model import STATE_FORMAT_VERSION, State, Status


def test_round_trip_is_exact_and_deterministic() -> None:
    state = sample_state(4, serial=7, outputs={"ip": "10.0.0.1", "names": ["é", "b"]})
    data = codec.dumps(state)
    assert codec.loads(data, "x") == state
    assert codec.dumps(codec.loads(data, "x")) == data
    parsed = json.loads(data)
    assert list(parsed["resources"]) == sorted(parsed["resources"])
    assert parsed["format_version"] == STATE_FORMAT_VERSION
    assert data.count(b"\n") >= len(state.resources) + 6  # one line per resource


def test_encoder_reencodes_changed_records_only_when_they_change() -> None:
    encoder = codec.Encoder()
    state = sample_state(3)
    first = encoder.dumps(state)
    changed = state.with_resource(resource("migration.vm-1.scw_server", name="renamed"))
    second = encoder.dumps(changed)
    assert second != first
    assert second == codec.dumps(changed)
    assert encoder.dumps(state) == first
    smaller = changed.without("migration.vm-0.scw_server")
    assert encoder.dumps(smaller) == codec.dumps(smaller)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "invalid JSON"),
        (b"{", "invalid JSON"),
        (b"\xff\xfe", "invalid JSON"),
        (b"[]", "top level is not a JSON object"),
        (b'{"format_version": 1, "serial": "x"}', "serial: Input should be a valid integer"),
        (b'{"format_version": 1, "surprise": 1}', "surprise: Extra inputs are not permitted"),
        (b'{"format_version": 0}', "format_version 0 is not valid"),
        (
            b'{"format_version": 1, "resources": {"a": {"address": "b", "type": "t", '
            b'"provider": "p"}}}',
            "resource key 'a' holds a record for 'b'",
        ),
    ],
)
def test_corrupt_states_name_the_source_and_the_backup(data: bytes, message: str) -> None:
    with pytest.raises(StateError) as bad:
        codec.loads(data, "/srv/v2s.state.json", backup="/srv/v2s.state.json.backup")
    text = str(bad.value)
    assert text.startswith("/srv/v2s.state.json: not a valid v2s state")
    assert message in text
    assert "/srv/v2s.state.json.backup" in text


def test_newer_versions_are_refused_even_with_unknown_fields() -> None:
    for data in (
        b'{"format_version": 2}',
        b'{"format_version": 2, "new_field": {"x": 1}}',
    ):
        with pytest.raises(StateError, match="newer v2s") as bad:
            codec.loads(data, "state.json")
        assert "upgrade v2s" in str(bad.value)


def test_json_schema_describes_the_file() -> None:
    schema = codec.json_schema()
    assert schema["title"] == "v2s state"
    assert {"format_version", "lineage", "serial", "resources"} <= set(schema["properties"])
    assert State.model_validate(json.loads(codec.dumps(sample_state(1))))


def test_written_files_validate_against_the_published_schema() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    from pathlib import Path

    published = json.loads(
        (Path(__file__).resolve().parents[2] / "schemas" / "state.schema.json").read_text()
    )
    assert published == codec.json_schema()  # regenerate with `v2s schema --write schemas`
    state = sample_state(3, outputs={"ip": "10.0.0.1"}).with_resource(
        resource("migration.x.disk_export[0]").model_copy(
            update={"status": Status.TAINTED, "checkpoint": {"bytes": 5}, "dependencies": ("a",)}
        )
    )
    jsonschema.validate(json.loads(codec.dumps(state)), published)
    broken = json.loads(codec.dumps(state))
    broken["resources"]["migration.x.disk_export[0]"]["status"] = "half-done"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, published)
