"""Type-check comparisons: `a < b`, `x between lo and hi`, `x in [...]`; a bare name opposite
an enum is one of its values, and the hint says how to make two sides comparable."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from rulesengine.check import types as t
from rulesengine.check.types import Kind, Type
from rulesengine.language import ast

if TYPE_CHECKING:
    from rulesengine.check.expressions import _Checker as Checker


def _pair(
    checker: Checker, a: ast.Node | None, b: ast.Node | None
) -> tuple[ast.Node, Type | None, ast.Node, Type | None]:
    """Check two operands of a comparison; a bare name opposite an enum is a literal."""
    left, lt = checker.visit(a)
    right, rt = checker.visit(b, enum_hint=lt)
    return left, lt, right, rt


def compare(checker: Checker, node: ast.Compare) -> tuple[ast.Node, Type | None]:
    left, lt, right, rt = _pair(checker, node.left, node.right)
    node = replace(node, left=left, right=right)
    if lt is None or rt is None:
        return node, None
    if not t.comparable(lt, rt, node.op):
        checker.report("E201", f"can't compare {lt} with {rt}", node.span, _compare_hint(lt, rt))
        return node, None
    return node, t.BOOL


def between(checker: Checker, node: ast.Between) -> tuple[ast.Node, Type | None]:
    subject, st = checker.visit(node.subject)
    low, lo_t = checker.visit(node.low)
    high, hi_t = checker.visit(node.high)
    node = replace(node, subject=subject, low=low, high=high)
    if st is None or lo_t is None or hi_t is None:
        return node, None
    for bound, bt in ((low, lo_t), (high, hi_t)):
        if not t.comparable(st, bt, "<"):
            checker.report(
                "E201", f"can't compare {st} with {bt}", bound.span, _compare_hint(st, bt)
            )
            return node, None
    return node, t.BOOL


def in_list(checker: Checker, node: ast.InList) -> tuple[ast.Node, Type | None]:
    subject, st = checker.visit(node.subject)
    items, ok = [], st is not None
    for item in node.items:
        resolved, it = checker.visit(item, enum_hint=st)
        items.append(resolved)
        if it is None:
            ok = False
        elif st is not None and not t.comparable(st, it, "=="):
            checker.report("E201", f"can't compare {st} with {it}", item.span, None)
            ok = False
    node = replace(node, subject=subject, items=tuple(items))
    if not node.items:
        checker.report("E301", "`in []` is an empty list: nothing can match", node.span, None)
        return node, None
    return node, (t.BOOL if ok else None)


def _compare_hint(lt: Type, rt: Type) -> str | None:
    kinds = {lt.kind, rt.kind}
    if Kind.MONEY in kinds and kinds & t.RATIO:
        return (
            "one side is money, the other a plain number: drop the `$`, or compare money with money"
        )
    if Kind.DURATION in kinds:
        return "durations need a unit: 30s, 5m, 2h, 1d"
    if Kind.ENUM in kinds:
        return "compare with one of its values, e.g. `type == put`"
    return None
