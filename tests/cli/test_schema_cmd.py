"""`v2s schema --write` reproduces the committed schemas/ byte for byte."""

from __future__ import annotations

from pathlib import Path

from tests.cli.helpers import ROOT, run


def test_schema_write_matches_the_repository(tmp_path: Path, capsys) -> None:
    r = run(capsys, tmp_path, "schema", "--write", str(tmp_path / "out"))
    assert r.code == 0, r.text
    written = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert written == ["config.schema.json", "plan.schema.json", "state.schema.json"]
    for name in written:
        assert (tmp_path / "out" / name).read_text() == (ROOT / "schemas" / name).read_text(), (
            f"schemas/{name} is out of date: run `make schemas`")
    r = run(capsys, tmp_path, "schema", "--which", "nope")
    assert r.code == 1 and "config, plan or state" in r.err
