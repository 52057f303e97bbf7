"""Indicator calls over bars: timeframes, series arguments and lookbacks.

`ema(close, 9, 5m)`: an optional last argument names the bars' timeframe (a strategy's
`bars:` is the default, else daily bars). Series arguments are bar fields (`close`), other
indicator calls (`crosses_above(ema(close, 9), ema(close, 21))`) or, where a function compares
levels, constants (`crosses_above(rsi(14), 30)`). One series never mixes timeframes (E112):
each bar of one timeframe has no single counterpart in another.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable
from typing import Any, Protocol

from rulesengine.check import types as t
from rulesengine.check.names import FIELDS_BY_NAME, FUNCTIONS, SERIES, Function
from rulesengine.check.program import SeriesRef
from rulesengine.check.timeframes import (
    DAILY,
    Timeframe,
    TimeframeError,
    parse_timeframe,
    timeframe_of,
)
from rulesengine.check.types import Type
from rulesengine.language import ast

Report = Callable[[str, str, ast.Span, str | None], None]
# Intraday history the engine keeps for indicators; a lookback needing more can never fill.
INTRADAY_SESSIONS = 60
GLOBEX_MINUTES = 23 * 60  # the longest session any instrument trades


class Visitor(Protocol):
    report: Report
    ctx: Any  # expressions.Context: the lets in scope, the names used

    def call(self, node: ast.Call) -> tuple[ast.Node, Type | None]: ...


def default_timeframe(text: str | None, report: Callable[[str], None]) -> Timeframe:
    """A file's `bars: 5m`: the timeframe of its indicators that name none (daily without)."""
    if text is None:
        return DAILY
    try:
        return parse_timeframe(text)
    except TimeframeError as error:
        report(str(error))
        return DAILY


def is_timeframe_literal(node: ast.Node) -> bool:
    return isinstance(node, ast.Number) and node.unit in {"duration", "ticks"}


def split_timeframe(
    func: Function, node: ast.Call, report: Report
) -> tuple[tuple[ast.Node, ...], Timeframe | None, bool]:
    """(arguments, timeframe, ok): a bar function's trailing timeframe taken off its args."""
    args = node.args
    if not (func.reads_bars and args and is_timeframe_literal(args[-1])):
        return args, None, True
    literal = args[-1]
    assert isinstance(literal, ast.Number)
    if func.daily:
        report(
            "E111",
            f"'{func.name}' reads once-a-session ATM IV history: it takes no timeframe",
            literal.span,
            f"write {func.name}({', '.join(func.params)})",
        )
        return args[:-1], None, False
    try:
        timeframe = timeframe_of(literal.value, literal.unit, literal.text)
    except TimeframeError as error:
        report("E111", str(error), literal.span, None)
        return args[:-1], None, False
    if timeframe.ticks and func.annualised:
        report(
            "E111",
            f"'{func.name}' is annualised, which tick bars (no fixed count a year) cannot be",
            literal.span,
            "use time bars, e.g. 5m",
        )
        return args[:-1], None, False
    return args[:-1], timeframe, True


def series_argument(
    visitor: Visitor, func: str, param: str, arg: ast.Node
) -> tuple[ast.Node, Type | None]:
    """A `series` or `level` argument: a bar field, an indicator call, or (level) a constant."""
    if isinstance(arg, ast.Name) and arg.name in SERIES:
        return SeriesRef(arg.span, arg.name), FIELDS_BY_NAME[arg.name].type
    let = visitor.ctx.lets.get(arg.name) if isinstance(arg, ast.Name) else None
    if let is not None and let.series is not None:  # `fast: ema(close, 9)`: the call itself
        visitor.ctx.used_lets.add(getattr(arg, "name", ""))
        return let.series, let.type
    if isinstance(arg, ast.Call) and arg.func in FUNCTIONS and FUNCTIONS[arg.func].reads_bars:
        return visitor.call(arg)
    if param == "level" and isinstance(arg, ast.Number) and arg.unit in {"", "$", "%"}:
        kind = {"$": t.MONEY, "%": t.PERCENT}.get(arg.unit, t.LITERAL_NUMBER)
        return arg, kind
    if (
        param == "level"
        and isinstance(arg, ast.Unary)
        and arg.op == "-"
        and isinstance(arg.operand, ast.Number)
    ):
        operand = arg.operand
        return arg, {"$": t.MONEY, "%": t.PERCENT}.get(operand.unit, t.LITERAL_NUMBER)
    what = _describe(arg)
    visitor.report(
        "E113",
        f"'{func}' reads a series of bars; {what} is one value per row, not a series",
        arg.span,
        f"use {', '.join(SERIES)} or an indicator such as ema(close, 9)"
        + (", or a constant level" if param == "level" else ""),
    )
    return arg, None


def _describe(arg: ast.Node) -> str:
    if isinstance(arg, ast.Name):
        return f"`{arg.name}`"
    if isinstance(arg, ast.Attr):
        return "a leg's field"
    return "this expression"


def indicator(node: ast.Node) -> ast.Node | None:
    """`node` when it is an indicator call (a let holding one can stand for a series)."""
    func = FUNCTIONS.get(node.func) if isinstance(node, ast.Call) else None
    return node if func is not None and func.reads_bars else None


def explicit_timeframes(node: ast.Node) -> set[Timeframe]:
    """Every timeframe written inside an indicator call, nested calls included."""
    found: set[Timeframe] = set()
    if not isinstance(node, ast.Call):
        return found
    func = FUNCTIONS.get(node.func)
    if func is None or not func.reads_bars:
        return found
    if node.args and is_timeframe_literal(node.args[-1]):
        literal = node.args[-1]
        assert isinstance(literal, ast.Number)
        with contextlib.suppress(TimeframeError):  # reported where the call is checked
            found.add(timeframe_of(literal.value, literal.unit, literal.text))
    for arg in node.args:
        found |= explicit_timeframes(arg)
    return found


def check_mixing(node: ast.Call, report: Report) -> bool:
    """E112 once, at the innermost call whose subtree names two timeframes."""
    inner_mixed = any(len(explicit_timeframes(a)) > 1 for a in node.args)
    found = explicit_timeframes(node)
    if len(found) > 1 and not inner_mixed:
        names = " and ".join(sorted(str(tf) for tf in found))
        report(
            "E112",
            f"'{node.func}' mixes {names} bars in one series",
            node.span,
            "a bar of one timeframe has no single counterpart in another: compare the "
            "indicators' last values instead, e.g. ema(close, 9, 5m) > sma(close, 50, 1d)",
        )
        return False
    return not inner_mixed


def lookback(node: ast.Node) -> int:
    """Bars an indicator call consumes before its first value (nested calls add up)."""
    if not isinstance(node, ast.Call) or node.func not in FUNCTIONS:
        return 0
    counts = [
        int(a.value)
        for a in node.args
        if isinstance(a, ast.Number) and not is_timeframe_literal(a) and not a.unit
    ]
    own = sum(counts[1:3]) if node.func.startswith("macd") else (counts[0] if counts else 1)
    return own + max((lookback(a) for a in node.args), default=0)


def check_lookback(node: ast.Call, timeframe: Timeframe | None, report: Report) -> bool:
    """E114 when the bars needed exceed the intraday history the engine keeps."""
    if timeframe is None or timeframe.daily or timeframe.ticks:
        return True
    per_session = math.ceil(GLOBEX_MINUTES * 60 / timeframe.seconds)
    kept = INTRADAY_SESSIONS * per_session
    needed = lookback(node)
    if needed > kept:
        report(
            "E114",
            f"'{node.func}' needs {needed} {timeframe} bars; the engine keeps {kept} "
            f"({INTRADAY_SESSIONS} sessions)",
            node.span,
            "use a longer timeframe for a long lookback, e.g. sma(close, 50, 1d)",
        )
        return False
    return True
