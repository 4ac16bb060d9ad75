"""The bad-input corpus (tests/data/bad_configs) through `v2s validate` and `v2s plan`.

Each broken config: exit 1, a short error starting with file:line:column, no traceback,
within a second (timed in-process; a few cases also run as real processes).
"""

from __future__ import annotations

import os
import re
import shutil
import time
from pathlib import Path

import pytest

from tests.cli.helpers import run, run_process

CORPUS = Path(__file__).resolve().parents[1] / "data" / "bad_configs"
CASES = sorted(CORPUS.glob("*.yaml"))
SAMPLE = [c for c in CASES if re.match(r"(01|10|41|50|52)-", c.name)]


def _args(case: Path, command: str) -> list[str]:
    vars_file = case.with_suffix(".vars")
    extra: list[str] = []
    for line in vars_file.read_text().split() if vars_file.exists() else []:
        extra += ["-var", line]
    return ["-c", case.name, command, *extra]


def _copy(case: Path, tmp_path: Path) -> None:
    shutil.copy(case, tmp_path / case.name)


def _check(case: Path, code: int, err: str, out: str) -> None:
    expected = case.with_suffix(".expected").read_text().strip()
    assert code == 1, (code, out, err)
    assert "Traceback" not in err + out
    first = err.splitlines()[0]
    assert first.startswith(f"Error: {case.name}:") or first.startswith(
        "Error: <command line>:"), err
    assert re.search(r":\d+:\d+: ", first), err
    assert expected in err, err
    assert len(err.splitlines()) <= 12, err


def test_corpus_is_there() -> None:
    assert len(CASES) >= 30


@pytest.mark.parametrize("command", ["validate", "plan"])
@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_bad_config_through_the_cli(case: Path, command: str, tmp_path: Path, capsys,
                                    monkeypatch) -> None:
    for name in [n for n in os.environ if n.startswith("V2S_VAR_")]:
        monkeypatch.delenv(name)
    _copy(case, tmp_path)
    start = time.perf_counter()
    r = run(capsys, tmp_path, *_args(case, command))
    elapsed = time.perf_counter() - start
    _check(case, r.code, r.err, r.out)
    assert elapsed < 1.0, f"{case.name} took {elapsed:.2f}s"
    assert not (tmp_path / "v2s.tfstate.json").exists()


@pytest.mark.parametrize("case", SAMPLE, ids=[c.stem for c in SAMPLE])
def test_bad_config_in_a_real_process(case: Path, tmp_path: Path) -> None:
    _copy(case, tmp_path)
    start = time.perf_counter()
    r = run_process(tmp_path, *_args(case, "plan"))
    elapsed = time.perf_counter() - start
    _check(case, r.code, r.err, r.out)
    assert elapsed < 5.0  # interpreter start-up included; the in-process bound is 1 s
