"""The bad-input corpus (tests/data/bad_configs): short positioned errors, fast, no traceback.

Each case is ``NN-name.yaml`` + ``NN-name.expected`` (a substring of the error that
includes ``:line:column:``) + optional ``NN-name.vars`` (one ``-var`` argument per line).
Run at the load + expand + check_acyclic level; the CLI runs the same corpus (tests/cli).
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest

from vmware2scw import graph
from vmware2scw.config import ConfigError, expand, load, static_inventory
from vmware2scw.provider import DiskFacts, NicFacts, VMFacts

CORPUS = Path(__file__).resolve().parents[1] / "data" / "bad_configs"
CASES = sorted(CORPUS.glob("*.yaml"))


def vms_from_settings(loaded: Any) -> list[VMFacts]:
    """The ``vms:`` list of the test provider's settings as VM facts (like the test provider)."""
    out = []
    for raw in loaded.config.providers.get("vmware", {}).get("vms", []):
        out.append(
            VMFacts(
                name=raw["name"],
                disks=tuple(
                    DiskFacts(key=d["key"], label=f"disk {i}", capacity_bytes=d["capacity_bytes"])
                    for i, d in enumerate(raw.get("disks", []))
                ),
                nics=tuple(NicFacts(**n) for n in raw.get("nics", [])),
            )
        )
    return out


def run_case(path: Path) -> None:
    vars_file = path.with_suffix(".vars")
    var_args = vars_file.read_text().split() if vars_file.exists() else []
    loaded = load(path, var_args=var_args, environ={})
    desired, _ = expand(
        loaded, lineage="00000000-bad", inventory=static_inventory(vms_from_settings(loaded))
    )
    graph.check_acyclic(graph.build_graph(desired))
    for name in desired.providers:  # as every command that configures its providers does
        loaded.require(("providers", name))


def test_corpus_is_big_enough() -> None:
    assert len(CASES) >= 30
    for case in CASES:
        assert case.with_suffix(".expected").exists(), f"{case.name} has no .expected"


@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_bad_config_fails_with_a_positioned_short_error(case: Path) -> None:
    expected = case.with_suffix(".expected").read_text().strip()
    assert re.search(r":\d+:\d+: ", expected), "the expectation must include :line:column:"
    start = time.process_time()  # CPU time: other work on the machine does not count
    with pytest.raises(ConfigError) as info:
        run_case(case)
    elapsed = time.process_time() - start
    text = str(info.value)
    first = text.splitlines()[0]
    assert expected in text, text
    assert re.match(r"^[^\n]+:\d+:\d+: ", first), text
    assert "Traceback" not in text and len(first) < 300, text
    assert elapsed < 1.0, f"{case.name} took {elapsed:.2f}s"
