"""Attribute paths from deepdiff: formatting, parsing, changed paths."""

from __future__ import annotations

import pytest

from vmware2scw.plan.differ import changed_paths, format_path, is_under, parse_path, top_level


@pytest.mark.parametrize(("parts", "text"), [
    (["name"], "name"),
    (["tags", 0], "tags[0]"),
    (["limits", "cpu"], "limits.cpu"),
    (["labels", "app/x", 2], 'labels["app/x"][2]'),
])
def test_format_and_parse_are_inverse(parts, text):
    assert format_path(parts) == text
    assert parse_path(text) == parts


def test_malformed_path_is_refused():
    with pytest.raises(ValueError, match="malformed"):
        parse_path("tags[x")


def test_changed_paths_cover_change_add_remove_and_unknown():
    before = {"a": 1, "tags": ["x", "y"], "m": {"k": 1}, "gone": True}
    after = {"a": 2, "tags": ["x"], "m": {"k": 1, "new": 0}, "id": None}
    assert changed_paths(before, after, ["id"]) == ("a", "gone", "id", "m.new", "tags[1]")


def test_equal_and_whole_object_changes_have_no_paths():
    assert changed_paths({"a": [1]}, {"a": [1]}) == ()
    assert changed_paths(None, {"a": 1}) == () and changed_paths({"a": 1}, None) == ()


def test_top_level_and_is_under():
    assert top_level('labels["a/b"][0]') == "labels"
    assert is_under("tags[0]", "tags") and is_under("m.k", "m") and not is_under("tagsx", "tags")
