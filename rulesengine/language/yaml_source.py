"""Load a YAML rule file into a tree that knows the line:col of every key, value and character."""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from typing import Any

import yaml

from rulesengine.language.errors import SourceError


@dataclass(frozen=True)
class Position:
    line: int  # 1-based
    col: int  # 1-based, in characters


class LineIndex:
    """Character offset -> (line, col) for one file's text."""

    def __init__(self, text: str):
        self.text = text
        self.starts = [0]
        self.starts.extend(i + 1 for i, ch in enumerate(text) if ch == "\n")

    def position(self, offset: int) -> Position:
        offset = max(0, min(offset, len(self.text)))
        line = bisect.bisect_right(self.starts, offset) - 1
        return Position(line + 1, offset - self.starts[line] + 1)

    def line_text(self, line: int) -> str:
        start = self.starts[line - 1]
        end = self.starts[line] - 1 if line < len(self.starts) else len(self.text)
        return self.text[start:end].rstrip("\r")


@dataclass
class YNode:
    """One YAML node: kind 'map' | 'seq' | 'scalar', its source offsets and its children."""

    kind: str
    start: int
    end: int
    value: Any = None  # scalars: the constructed Python value
    items: list[YNode] = field(default_factory=list)  # seq
    pairs: list[tuple[YNode, YNode]] = field(default_factory=list)  # map
    offsets: list[int] | None = None  # scalars: source offset of each character of str(value)

    def get(self, key: str) -> YNode | None:
        for k, v in self.pairs:
            if k.value == key:
                return v
        return None

    def key_node(self, key: str) -> YNode | None:
        for k, _ in self.pairs:
            if k.value == key:
                return k
        return None

    def to_python(self) -> Any:
        if self.kind == "map":
            return {k.value: v.to_python() for k, v in self.pairs}
        if self.kind == "seq":
            return [item.to_python() for item in self.items]
        return self.value

    def source_offset(self, char_index: int) -> int:
        """Where character `char_index` of this scalar's text sits in the file."""
        if not self.offsets:
            return self.start
        return self.offsets[max(0, min(char_index, len(self.offsets) - 1))]


@dataclass
class YamlDocument:
    text: str
    lines: LineIndex
    root: YNode | None
    duplicates: list[tuple[str, YNode]] = field(default_factory=list)


def load(text: str) -> YamlDocument:
    """Parse YAML text; raise SourceError (code E001) with a file offset on a syntax error."""
    try:
        loader = yaml.SafeLoader(text)
    except yaml.reader.ReaderError as error:
        return _reader_error(error)
    try:
        node = loader.get_single_node()
        document = YamlDocument(text, LineIndex(text), None)
        if node is not None:
            document.root = _convert(node, loader, text, document)
        return document
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        offset = mark.index if mark is not None else 0
        problem = error.problem or error.context or "invalid YAML"
        raise SourceError(
            "E001", f"YAML syntax: {problem}", (offset, offset + 1), _yaml_hint(problem)
        ) from None
    except yaml.reader.ReaderError as error:
        return _reader_error(error)
    except yaml.YAMLError as error:
        raise SourceError("E001", f"YAML syntax: {error}", (0, 1)) from None
    finally:
        loader.dispose()


def _reader_error(error: yaml.reader.ReaderError):
    offset = max(error.position, 0)
    raise SourceError(
        "E001",
        f"YAML can't contain the control character {error.character!r}",
        (offset, offset + 1),
        "delete it: rule files are plain text",
    ) from None


def _yaml_hint(problem: str) -> str | None:
    if "mapping values are not allowed" in problem:
        return "a value containing ': ' must be quoted"
    if "found character '\\t'" in problem or "tab" in problem:
        return "indent with spaces, not tabs"
    if "could not find expected ':'" in problem:
        return "each entry is `key: value`"
    if "alias" in problem or "anchor" in problem:
        return "a value starting with `*` or `&` must be quoted"
    return None


_PLAIN_TAGS = {
    f"tag:yaml.org,2002:{t}"
    for t in ("map", "seq", "str", "int", "float", "bool", "null", "timestamp")
}


# Bounds that keep any file's check fast and small: a 300-byte alias bomb expands to
# billions of nodes, and no rule file needs more than a few thousand.
MAX_NODES = 50_000
MAX_DEPTH = 40
MAX_KEYS = 1_000  # per mapping: no section needs more lets, limits or legs
_PROBE = 256  # how far _align looks ahead for a character (escapes and folding are short)


class _Budget:
    def __init__(self) -> None:
        self.nodes = 0

    def spend(self, node: yaml.Node, depth: int) -> None:
        self.nodes += 1
        start = node.start_mark.index
        if self.nodes > MAX_NODES:
            raise SourceError(
                "E001",
                f"this file expands to more than {MAX_NODES:,} YAML values",
                (start, start + 1),
                "rule files are small: remove repeated aliases (`*name`) or split the file",
            )
        if depth > MAX_DEPTH:
            raise SourceError(
                "E001",
                f"YAML nested more than {MAX_DEPTH} levels deep",
                (start, start + 1),
                "flatten the structure",
            )


def _convert(
    node: yaml.Node,
    loader: yaml.SafeLoader,
    text: str,
    doc: YamlDocument,
    budget: _Budget | None = None,
    depth: int = 0,
) -> YNode:
    budget = budget or _Budget()
    budget.spend(node, depth)
    start, end = node.start_mark.index, node.end_mark.index
    if node.tag not in _PLAIN_TAGS:
        raise SourceError(
            "E001",
            f"YAML tag '{node.tag}' is not allowed in rule files",
            (start, start + 1),
            "remove the `!` tag",
        )
    if isinstance(node, yaml.MappingNode):
        if len(node.value) > MAX_KEYS:
            raise SourceError(
                "E001",
                f"a mapping with {len(node.value):,} keys; rule files allow {MAX_KEYS:,}",
                (start, start + 1),
                "split the rules into several files",
            )
        out = YNode("map", start, end)
        seen: set[Any] = set()
        for key, value in node.value:
            key_node = _convert(key, loader, text, doc, budget, depth + 1)
            if _hashable(key_node.value) in seen:
                doc.duplicates.append((str(key_node.value), key_node))
            seen.add(_hashable(key_node.value))
            out.pairs.append((key_node, _convert(value, loader, text, doc, budget, depth + 1)))
        return out
    if isinstance(node, yaml.SequenceNode):
        items = [_convert(n, loader, text, doc, budget, depth + 1) for n in node.value]
        return YNode("seq", start, end, items=items)
    value = _construct(loader, node)
    offsets = (
        _align(text[start:end], str(node.value), start) if isinstance(node.value, str) else None
    )
    return YNode("scalar", start, end, value=value, offsets=offsets)


def _construct(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    """The scalar's value; one YAML cannot build (`!!bool maybe`, `!!timestamp 2011-13-45`,
    an integer of 5,000 digits) is a diagnostic, not a crash."""
    try:
        return loader.construct_object(node, deep=True)
    except Exception as error:  # PyYAML's constructors raise whatever their parsing hits
        start = node.start_mark.index
        kind = node.tag.rsplit(":", 1)[-1]
        raise SourceError(
            "E001",
            f"YAML can't read {str(node.value)[:40]!r} as {kind} ({str(error)[:80]})",
            (start, max(node.end_mark.index, start + 1)),
            "quote the value to keep it as text, or correct it",
        ) from None


def _hashable(value: Any) -> Any:
    try:
        hash(value)
        return value
    except TypeError:
        return repr(value)


def _align(source: str, value: str, base: int) -> list[int]:
    """Map each character of a scalar's value to its offset in the file.

    YAML folding (multi-line plain scalars, block scalars) only drops indentation, turns line
    breaks into spaces and removes quotes and escapes, so the value is (nearly) a subsequence of
    the source: a greedy walk finds every character. One extra entry marks the end.
    """
    offsets: list[int] = []
    cursor = 0
    for ch in value:
        probe, limit = cursor, min(len(source), cursor + _PROBE)  # bounded: never quadratic
        while probe < limit and not _same(source[probe], ch):
            probe += 1
        if probe < limit:
            offsets.append(base + probe)
            cursor = probe + 1
        else:  # an escape such as \x41 produced a character the source does not spell
            offsets.append(base + min(cursor, max(len(source) - 1, 0)))
    offsets.append(base + min(cursor, len(source)))
    return offsets


def _same(source_char: str, value_char: str) -> bool:
    return source_char == value_char or (value_char in " \n" and source_char in " \n\r")
