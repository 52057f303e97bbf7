"""Type-check function calls: arity, each argument by its kind (numbers, whole-number
and constant parameters, bar series), an indicator's timeframe, and the result's type."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from rulesengine.check import bar_calls
from rulesengine.check import types as t
from rulesengine.check.diagnostics import did_you_mean
from rulesengine.check.names import FUNCTIONS, Function, Scope
from rulesengine.check.types import Type, UnitError
from rulesengine.language import ast

if TYPE_CHECKING:
    from rulesengine.check.expressions import _Checker as Checker


def check_call(checker: Checker, node: ast.Call) -> tuple[ast.Node, Type | None]:
    """Resolve and type a function call: arity, arguments (series, constants, numbers), the
    timeframe of an indicator, and its result type."""
    func = FUNCTIONS.get(node.func)
    if func is None:
        checker.report(
            "E103",
            f"unknown function '{node.func}'",
            node.func_span,
            did_you_mean(node.func, FUNCTIONS),
        )
        return node, None
    if func.scope is not None and func.scope not in checker.ctx.scopes:
        checker.report(
            "E107",
            f"'{func.name}' reads {func.scope} data, not available in {checker.ctx.section}",
            node.func_span,
            None,
        )
        return node, None
    given, timeframe, timeframe_ok = bar_calls.split_timeframe(func, node, checker.report)
    arity_ok = len(given) >= len(func.params) if func.variadic else len(given) == len(func.params)
    if not arity_ok:
        wanted = f"at least {len(func.params)}" if func.variadic else str(len(func.params))
        signature = f"{func.name}({', '.join(func.params)})"
        if func.reads_bars and not func.daily:
            signature = f"{func.name}({', '.join((*func.params, 'timeframe'))}) or {signature}"
        checker.report(
            "E104",
            f"'{func.name}' takes {wanted} arguments, got {len(given)}",
            node.span,
            f"write {signature}",
        )
        return node, None
    params = func.params + (func.params[-1],) * (len(given) - len(func.params))
    args, arg_types = [], []
    for param, arg in zip(params, given, strict=True):
        resolved, typ = _argument(checker, func.name, param, arg)
        args.append(resolved)
        arg_types.append(typ)
    args += node.args[len(given) :]  # the timeframe literal, kept for the compiler
    if func.scope is not None:
        checker.ctx.used_scopes.add(func.scope)
    checked = replace(node, args=tuple(args))
    if func.reads_bars and not (
        bar_calls.check_mixing(node, checker.report)
        and bar_calls.check_lookback(node, timeframe or checker.ctx.bars, checker.report)
    ):
        return checked, None
    if not timeframe_ok or any(a is None for a in arg_types):
        return checked, None
    return checked, _result(checker, func, node, params, arg_types)


def _result(
    checker: Checker, func: Function, node: ast.Call, params: tuple[str, ...], arg_types: list
) -> Type | None:
    numeric = [  # every type is known here: an unknown one returned above
        a for p, a in zip(params, arg_types, strict=True) if p in {"x", "series", "level"}
    ]
    if func.result == "same" or (func.result == "bool" and numeric):
        try:
            unified = t.unify(numeric) if numeric else t.NUMBER
        except UnitError as error:
            checker.report("E201", str(error), node.span, None)
            return None
        if func.result == "bool":
            return t.BOOL
        return unified
    return {"number": t.NUMBER, "money": t.MONEY, "percent": t.PERCENT, "bool": t.BOOL}[func.result]


def _argument(
    checker: Checker, func: str, param: str, arg: ast.Node
) -> tuple[ast.Node, Type | None]:
    if param in {"series", "level"}:
        resolved, typ = bar_calls.series_argument(checker, func, param, arg)
        if typ is not None:
            checker.ctx.used_scopes.add(Scope.UNDERLYING)
        return resolved, typ
    if param == "k":
        if isinstance(arg, ast.Number) and not arg.unit and 0 < arg.value <= 100:
            return arg, t.LITERAL_NUMBER
        checker.report("E104", f"'{func}' needs a positive constant here, e.g. 3", arg.span, None)
        return arg, None
    if param == "n":
        if (
            isinstance(arg, ast.Number)
            and not arg.unit
            and arg.value == int(arg.value)
            and 1 <= arg.value <= 5000
        ):
            return arg, t.LITERAL_NUMBER
        checker.report(
            "E104", f"'{func}' needs a whole number of bars (1-5000) here", arg.span, None
        )
        return arg, None
    resolved, typ = checker.visit(arg)
    if typ is not None and typ.kind not in t.NUMERIC:
        checker.report("E201", f"'{func}' needs a number, got {typ}", arg.span, None)
        return resolved, None
    return resolved, typ
