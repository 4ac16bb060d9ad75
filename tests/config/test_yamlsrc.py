"""YAML parsing: positions, duplicate keys, tags, merge keys and alias bounds."""

from __future__ import annotations

import time

import pytest

from vmware2scw.config import yamlsrc
from vmware2scw.errors import ConfigError


def test_positions_of_values_and_keys() -> None:
    src = yamlsrc.parse("a:\n  b: [1, 'x']\n  c: hello\n", "f.yaml")
    assert src.data == {"a": {"b": [1, "x"], "c": "hello"}}
    assert str(src.pos(("a", "b", 1))) == "f.yaml:2:10"
    assert str(src.key_pos(("a", "c"))) == "f.yaml:3:3"
    assert str(src.pos(("a", "c"))) == "f.yaml:3:6"
    # a missing path falls back to its nearest ancestor
    assert str(src.pos(("a", "zzz", 3))) == "f.yaml:2:3"


def test_text_pos_points_inside_single_line_strings() -> None:
    src = yamlsrc.parse('k: "ab${x}"\nm: ab${x}\n', "f")
    assert str(src.text_pos(("k",), 2)) == "f:1:7"
    assert str(src.text_pos(("m",), 2)) == "f:2:6"


def test_duplicate_key_is_an_error_with_both_lines() -> None:
    with pytest.raises(ConfigError, match=r"^f:3:3: duplicate key 'x' \(first defined at line 2\)"):
        yamlsrc.parse("a:\n  x: 1\n  x: 2\n", "f")


def test_syntax_error_has_position() -> None:
    with pytest.raises(ConfigError, match=r"^f:2:\d+: YAML syntax error"):
        yamlsrc.parse("a: 1\n b: [\n", "f")


@pytest.mark.parametrize(
    "text",
    [
        "a: !!python/object:os.system x\n",
        "a: !custom 1\n",
        "a: !!binary aGVsbG8=\n",
        "a: !!set {x}\n",
    ],
)
def test_non_data_tags_are_refused(text: str) -> None:
    with pytest.raises(ConfigError, match=r"^f:1:4: unsupported YAML tag"):
        yamlsrc.parse(text, "f")


def test_timestamps_stay_strings() -> None:
    assert yamlsrc.parse("d: 2024-01-02\n", "f").data == {"d": "2024-01-02"}


def test_merge_keys_and_small_aliases_work() -> None:
    src = yamlsrc.parse("base: &b {x: 1, y: 2}\nm:\n  <<: *b\n  y: 3\nl: [*b, *b]\n", "f")
    assert src.data["m"] == {"x": 1, "y": 3}
    assert src.data["l"] == [{"x": 1, "y": 2}, {"x": 1, "y": 2}]
    assert str(src.pos(("m", "y"))) == "f:4:6"


def billion_laughs(levels: int = 9) -> str:
    lines = ["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for i in range(1, levels):
        refs = ", ".join([f"*a{i - 1}"] * 10)
        lines.append(f"a{i}: &a{i} [{refs}]")
    return "\n".join(lines) + "\n"


def test_billion_laughs_fails_fast_at_an_alias() -> None:
    start = time.perf_counter()
    with pytest.raises(ConfigError, match=r"^bomb:\d+:\d+: YAML aliases expand to too many"):
        yamlsrc.parse(billion_laughs(), "bomb")
    assert time.perf_counter() - start < 1.0


def test_recursive_alias_is_an_error() -> None:
    with pytest.raises(ConfigError, match=r"^f:1:\d+: recursive YAML alias"):
        yamlsrc.parse("a: &a [1, *a]\n", "f")


def test_deep_nesting_is_an_error_not_a_crash() -> None:
    with pytest.raises(ConfigError, match=r"^f:\d+:\d+: .*(deep|nesting)"):
        yamlsrc.parse("a: " + "[" * 5000 + "]" * 5000 + "\n", "f")


def test_complex_keys_are_refused() -> None:
    with pytest.raises(ConfigError, match="mapping keys must be plain strings"):
        yamlsrc.parse("? [a, b]\n: 1\n", "f")


def test_multiple_documents_are_refused() -> None:
    with pytest.raises(ConfigError, match=r"^f:\d+:\d+: YAML syntax error: .*single document"):
        yamlsrc.parse("a: 1\n---\nb: 2\n", "f")


def test_missing_and_non_utf8_files(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError, match=r":1:1: file not found"):
        yamlsrc.load_file(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_bytes(b"a: \xff\xfe\n")
    with pytest.raises(ConfigError, match=r":1:1: file is not UTF-8"):
        yamlsrc.load_file(bad)


@pytest.fixture
def pure_python(monkeypatch: pytest.MonkeyPatch) -> None:
    """Force the PyYAML composer (used where libyaml is missing)."""
    monkeypatch.setattr(yamlsrc, "_FastLoader", None)


@pytest.mark.usefixtures("pure_python")
def test_pure_python_composer_points_at_the_alias_of_a_bomb() -> None:
    start = time.perf_counter()
    with pytest.raises(ConfigError) as info:
        yamlsrc.parse(billion_laughs(), "bomb")
    assert time.perf_counter() - start < 1.0
    line, col = map(int, str(info.value).split(":")[1:3])
    assert line >= 2 and col > 5  # an alias (*aN) inside a list, not an anchor
    with pytest.raises(ConfigError, match="recursive YAML alias"):
        yamlsrc.parse("a: &a [1, *a]\n", "f")


@pytest.mark.usefixtures("pure_python")
def test_pure_python_composer_gives_the_same_data_and_positions() -> None:
    text = "base: &b {x: 1, y: [a, b]}\nm:\n  <<: *b\n  y: 3\nd: 2024-01-02\n"
    src = yamlsrc.parse(text, "f")
    assert src.data == {"base": {"x": 1, "y": ["a", "b"]}, "m": {"x": 1, "y": 3}, "d": "2024-01-02"}
    assert str(src.pos(("m", "y"))) == "f:4:6" and str(src.key_pos(("m", "y"))) == "f:4:3"
    with pytest.raises(ConfigError, match=r"^f:2:1: duplicate key"):
        yamlsrc.parse("a: 1\na: 2\n", "f")
    with pytest.raises(ConfigError, match=r"^f:1:\d+: YAML syntax error: nesting deeper than 100"):
        yamlsrc.parse("a: " + "[" * 1200 + "]" * 1200 + "\n", "f")
