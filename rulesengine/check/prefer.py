"""Checking a `prefer` clause (a leg's, the `expiry:` section's): a numeric key, and a
`nearest` target comparable with it."""

from __future__ import annotations

from dataclasses import replace

from rulesengine.check.expressions import Context, check
from rulesengine.check.types import Kind, comparable
from rulesengine.language import ast


def check_prefer(prefer: ast.Prefer | None, ctx: Context, report) -> ast.Prefer | None:
    if prefer is None:
        return None
    if prefer.key is None:
        return None
    key, key_type = check(prefer.key, ctx, report)
    if key_type is None:
        return None
    if key_type.kind not in {Kind.NUMBER, Kind.MONEY, Kind.PERCENT, Kind.DURATION, Kind.DATE}:
        report("E201", f"`prefer` sorts by a number, not a {key_type}", prefer.key.span, None)
        return None
    target = None
    if prefer.target is not None:
        target, target_type = check(prefer.target, ctx, report)
        if target_type is None:
            return None
        if not comparable(key_type, target_type, "<"):
            report(
                "E201",
                f"`nearest` compares {key_type} with {target_type}",
                prefer.target.span,
                None,
            )
            return None
    return replace(prefer, key=key, target=target)
