"""Schema problems (pydantic's) as diagnostics at the YAML node each concerns."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from pydantic import BaseModel, ValidationError

from rulesengine.check.diagnostics import did_you_mean
from rulesengine.language import yaml_source
from rulesengine.language.model import RuleFile


def report_validation(
    error: ValidationError,
    root: yaml_source.YNode,
    add: Callable[..., None],
    at_node: Callable[[yaml_source.YNode | None], tuple[int, int, int, int]],
) -> set[str]:
    """One diagnostic per schema problem, at the YAML node it concerns (E010 unknown keys with
    a did-you-mean, E011 missing or misshapen values); returns the top-level sections broken."""
    broken: set[str] = set()
    for issue in error.errors():
        loc = tuple(issue["loc"])
        broken.add(str(loc[0]) if loc else "")
        node, key_node = _locate(root, loc)
        if issue["type"] == "extra_forbidden":
            parent_fields = _fields_at(loc[:-1])
            hint = (
                did_you_mean(str(loc[-1]), parent_fields)
                or f"known keys: {', '.join(parent_fields)}"
            )
            where = "" if len(loc) == 1 else f" in `{'.'.join(map(str, loc[:-1]))}`"
            what = "section" if len(loc) == 1 else "key"
            add(
                "E010",
                f"unknown {what} '{loc[-1]}'{where}",
                at_node(key_node or node or root),
                hint,
            )
        elif issue["type"] == "missing":
            add("E011", f"`{'.'.join(map(str, loc))}` is required", at_node(node or root))
        elif _is_percent_pattern(issue):
            what = ".".join(str(p) for p in loc if p != "[key]")
            add(
                "E011",
                f"`{what}`: '{issue['input']}' is not a percentage",
                at_node(node or root),
                "write a percentage, e.g. `80%`",
            )
        else:
            what = ".".join(str(p) for p in loc) or "file"
            add(
                "E011",
                f"`{what}`: {issue['msg'].lower()}",
                at_node(node or root),
                _shape_hint(issue),
            )
    return broken


def _locate(
    root: yaml_source.YNode, loc: tuple
) -> tuple[yaml_source.YNode | None, yaml_source.YNode | None]:
    node: yaml_source.YNode | None = root
    key_node: yaml_source.YNode | None = None
    for part in loc:
        if node is None:
            break
        if node.kind == "map":
            key_node = node.key_node(str(part))
            node = node.get(str(part))
        elif node.kind == "seq" and isinstance(part, int) and part < len(node.items):
            key_node, node = None, node.items[part]
        else:
            break
    return node, key_node


def _fields_at(path: tuple) -> list[str]:
    model: type[BaseModel] = RuleFile
    for part in path:
        annotation = model.model_fields[str(part)].annotation
        inner = [
            a
            for a in getattr(annotation, "__args__", (annotation,))
            if isinstance(a, type) and issubclass(a, BaseModel)
        ]
        if not inner:
            return []
        model = inner[0]
    return list(model.model_fields)


def _is_percent_pattern(issue: Mapping[str, Any]) -> bool:
    pattern = (issue.get("ctx") or {}).get("pattern", "")
    return issue["type"] == "string_pattern_mismatch" and "%" in pattern


def _shape_hint(issue: Mapping[str, Any]) -> str | None:
    kind = issue["type"]
    if kind in {"dict_type", "model_type"}:
        return "this section is a mapping of `key: value` lines"
    if kind == "list_type":
        return "this section is a list: start each item with `- `"
    if kind in {"string_type"}:
        return "write a single expression here"
    if kind.startswith("int") or kind == "greater_than":
        return "use a whole number >= 1"
    if kind == "string_pattern_mismatch":
        return "names use letters, digits and _ and start with a letter"
    return None
