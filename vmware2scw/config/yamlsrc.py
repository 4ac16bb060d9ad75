"""YAML to plain values with a source position for every key and value.

PyYAML composes the node graph (with marks); we construct values ourselves so that
duplicate keys are errors, only plain data tags are accepted, and aliases are bounded:
a file whose aliases expand to far more nodes than it contains ("billion laughs") or
that refers to itself fails fast with the position of the offending alias.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from vmware2scw.diagnostics import SourcePos
from vmware2scw.errors import ConfigError
from vmware2scw.gcpause import paused_gc

YPath = tuple[str | int, ...]
LineCol = tuple[int, int]  # 1-based; SourcePos objects are made only when asked for
MAX_FILE_BYTES = 16 * 1024 * 1024
ALIAS_FACTOR = 10  # expanded nodes allowed per distinct node
ALIAS_SLACK = 10_000
MAX_DEPTH = 100

_STR = "tag:yaml.org,2002:str"
_MERGE = "tag:yaml.org,2002:merge"
_TIMESTAMP = "tag:yaml.org,2002:timestamp"
_SCALAR_TAGS = {
    _STR,
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
}


@dataclass
class Source:
    """A parsed YAML document: plain data plus positions by path."""

    file: str
    data: Any
    positions: dict[YPath, LineCol] = field(default_factory=dict)  # where each value starts
    key_positions: dict[YPath, LineCol] = field(default_factory=dict)  # where each key is
    text_columns: dict[YPath, int] = field(default_factory=dict)  # 1-based column of char 0

    def pos(self, path: YPath) -> SourcePos:
        """Position of the value at ``path``, or of its nearest ancestor."""
        for cut in range(len(path), -1, -1):
            found = self.positions.get(path[:cut])
            if found is not None:
                return SourcePos(file=self.file, line=found[0], column=found[1])
        return SourcePos(file=self.file, line=1, column=1)

    def key_pos(self, path: YPath) -> SourcePos:
        """Position of the key naming ``path`` (falls back to the value's position)."""
        found = self.key_positions.get(path)
        if found is None:
            return self.pos(path)
        return SourcePos(file=self.file, line=found[0], column=found[1])

    def text_pos(self, path: YPath, offset: int) -> SourcePos:
        """Position of character ``offset`` inside the string at ``path`` when known."""
        base = self.pos(path)
        col = self.text_columns.get(path)
        if col is None:
            return base
        return SourcePos(file=base.file, line=base.line, column=col + offset)


def mark_pos(file: str, mark: yaml.Mark | None) -> SourcePos:
    """A PyYAML mark as a 1-based SourcePos."""
    if mark is None:
        return SourcePos(file=file, line=1, column=1)
    return SourcePos.model_construct(file=file, line=mark.line + 1, column=mark.column + 1)


def fail(pos: SourcePos, message: str) -> ConfigError:
    """A ConfigError whose message starts with ``file:line:column:``."""
    return ConfigError(f"{pos}: {message}")


class _Loader(yaml.SafeLoader):
    """Records where each anchored node is first used through an alias."""

    def __init__(self, stream: str):
        super().__init__(stream)
        self.alias_marks: dict[int, yaml.Mark] = {}
        self.depth = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        event = self.peek_event()  # type: ignore[no-untyped-call]
        if self.check_event(yaml.AliasEvent):
            node = super().compose_node(parent, index)
            if node is not None:
                self.alias_marks.setdefault(id(node), event.start_mark)
            return node
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH + 1:
                raise yaml.composer.ComposerError(
                    None, None, f"nesting deeper than {MAX_DEPTH} levels", event.start_mark
                )
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


_FastLoader: type[Any] | None = getattr(yaml, "CSafeLoader", None)


def _compose(text: str) -> tuple[Node | None, dict[int, yaml.Mark]]:
    """Compose one document; libyaml when present (10x faster), else PyYAML with alias marks."""
    if _FastLoader is not None:
        fast = _FastLoader(text)
        try:
            return fast.get_single_node(), {}
        finally:
            fast.dispose()
    loader = _Loader(text)
    try:
        return loader.get_single_node(), loader.alias_marks
    finally:
        loader.dispose()


def read_text(path: Path, display: str) -> str:
    """Read a UTF-8 file with a size bound; errors become ConfigError at 1:1."""
    start = SourcePos(file=display, line=1, column=1)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise fail(start, "file not found") from None
    except OSError as exc:
        raise fail(start, f"cannot read file: {exc.strerror}") from None
    if len(raw) > MAX_FILE_BYTES:
        raise fail(start, f"file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise fail(start, f"file is not UTF-8 (byte {exc.start})") from None


def load_file(path: str | Path, display: str | None = None) -> Source:
    """Read and parse a YAML file."""
    name = display if display is not None else str(path)
    return parse(read_text(Path(path), name), name)


def parse(text: str, file: str) -> Source:
    """Parse YAML text into a :class:`Source`; every error is a ConfigError with a position."""
    with paused_gc():
        return _parse(text, file)


def _parse(text: str, file: str) -> Source:
    try:
        root, alias_marks = _compose(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        if exc.problem and exc.context and exc.context.startswith("expected"):
            problem = f"{exc.context} {exc.problem}"
        raise fail(mark_pos(file, mark), f"YAML syntax error: {problem}") from None
    except yaml.YAMLError as exc:
        raise fail(SourcePos(file=file, line=1, column=1), f"YAML error: {exc}") from None
    except RecursionError:
        raise fail(SourcePos(file=file, line=1, column=1), "YAML nesting is too deep") from None
    src = Source(file=file, data=None)
    if root is None:
        return src
    builder = _Builder(src, alias_marks, _count_nodes(root))
    src.data = builder.build(root, ())
    return src


def _count_nodes(root: Node) -> int:
    seen: set[int] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, SequenceNode):
            stack.extend(node.value)
        elif isinstance(node, MappingNode):
            for k, v in node.value:
                stack.append(k)
                stack.append(v)
    return len(seen)


class _Builder:
    def __init__(self, src: Source, alias_marks: dict[int, yaml.Mark], distinct: int):
        self.src = src
        self.alias_marks = alias_marks
        self.constructor = yaml.SafeLoader("")
        self.seen: set[int] = set()
        self.budget = distinct * ALIAS_FACTOR + ALIAS_SLACK
        self.visits = 0
        self.active: set[int] = set()
        self.alias_pos: SourcePos | None = None

    def here(self, node: Node) -> SourcePos:
        return mark_pos(self.src.file, node.start_mark)

    @staticmethod
    def at(node: Node) -> LineCol:
        mark = node.start_mark
        return (mark.line + 1, mark.column + 1)

    def build(self, node: Node, path: YPath) -> Any:
        self.visits += 1
        outer_alias = self.alias_pos
        if self.alias_pos is None and not isinstance(node, ScalarNode):
            if id(node) in self.seen:  # reached again: through an alias
                mark = self.alias_marks.get(id(node), node.start_mark)
                self.alias_pos = mark_pos(self.src.file, mark)
            self.seen.add(id(node))
        if self.visits > self.budget:
            where = self.alias_pos or self.here(node)
            raise fail(
                where,
                "YAML aliases expand to too many nodes (alias bomb?); "
                "write the values out or use `defaults`",
            )
        if len(path) > MAX_DEPTH:
            raise fail(self.here(node), f"nesting deeper than {MAX_DEPTH} levels")
        self.src.positions[path] = self.at(node)
        try:
            if isinstance(node, ScalarNode):
                return self.scalar(node, path)
            if id(node) in self.active:
                raise fail(self.alias_pos or self.here(node), "recursive YAML alias")
            self.active.add(id(node))
            try:
                if isinstance(node, SequenceNode):
                    self.check_tag(node, "tag:yaml.org,2002:seq")
                    return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
                if isinstance(node, MappingNode):
                    self.check_tag(node, "tag:yaml.org,2002:map")
                    return self.mapping(node, path)
            finally:
                self.active.discard(id(node))
            raise fail(self.here(node), "unsupported YAML node")
        finally:
            self.alias_pos = outer_alias

    def check_tag(self, node: Node, expected: str) -> None:
        if node.tag != expected:
            raise fail(self.here(node), f"unsupported YAML tag {node.tag!r}")

    def scalar(self, node: ScalarNode, path: YPath) -> Any:
        if node.tag in (_TIMESTAMP, _STR):  # strings as written (the common case: fast)
            value: Any = node.value
        elif node.tag in _SCALAR_TAGS:
            try:
                value = self.constructor.construct_object(node, deep=True)
            except yaml.YAMLError as exc:
                raise fail(self.here(node), f"invalid scalar: {exc}") from None
        else:
            raise fail(self.here(node), f"unsupported YAML tag {node.tag!r}")
        if isinstance(value, str) and node.start_mark.line == node.end_mark.line:
            quoted = 1 if node.style in ("'", '"') else 0
            self.src.text_columns[path] = node.start_mark.column + 1 + quoted
        return value

    def key(self, node: Node) -> str:
        if not isinstance(node, ScalarNode):
            raise fail(self.here(node), "mapping keys must be plain strings")
        return str(node.value)

    def mapping(self, node: MappingNode, path: YPath) -> dict[str, Any]:
        out: dict[str, Any] = {}
        first: dict[str, LineCol] = {}
        merged: dict[str, Any] = {}
        for knode, vnode in node.value:
            if knode.tag == _MERGE:
                self.merge(vnode, path, merged)
        self.src.positions[path] = self.at(node)
        for knode, vnode in node.value:
            if knode.tag == _MERGE:
                continue
            key = self.key(knode)
            kpos = self.at(knode)
            if key in first:
                raise fail(self.here(knode),
                           f"duplicate key {key!r} (first defined at line {first[key][0]})")
            first[key] = kpos
            self.src.key_positions[(*path, key)] = kpos
            out[key] = self.build(vnode, (*path, key))
        for key, value in merged.items():
            out.setdefault(key, value)
        return out

    def merge(self, vnode: Node, path: YPath, merged: dict[str, Any]) -> None:
        sources = vnode.value if isinstance(vnode, SequenceNode) else [vnode]
        for src in sources:
            if not isinstance(src, MappingNode):
                raise fail(self.here(src), "'<<' merges only mappings")
            value = self.build(src, path)
            for key, item in value.items():
                merged.setdefault(key, item)
