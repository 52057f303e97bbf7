"""DSL indicator calls: each underlying's bars through the series tree, one value per view row.

Daily bars come from the chain's `bars` (and ATM IV from its `iv_history`); intraday bars from
its `intraday` store, which holds only bars completed by the snapshot's time (bar-close
semantics: a 5-minute bar is read once its five minutes are over). Each tick evaluates only the
recent bars a tree needs (`series.history`), so a long replay costs the same per tick on its
last day as on its first.
"""

from __future__ import annotations

import numpy as np

from rulesengine.check.timeframes import DAILY, Timeframe
from rulesengine.compile import series
from rulesengine.compile.series import Bar, SeriesExpr
from rulesengine.data.chain import Bars, Chain
from rulesengine.runtime.view import Fields

_BAR_ATTR = {
    "close": "close",
    "open": "open",
    "high": "high",
    "low": "low",
    "underlying_volume": "volume",
    "atm_iv": "close",  # the IV history keeps each session's ATM IV as its close
}


def series_value(view: Fields, expr: SeriesExpr) -> np.ndarray:
    """The tree's last value for each row's underlying (NaN, or false for a crossing, where the
    bars are too short or missing; the reason goes to `view.missing`)."""
    chain = view.chain
    text = series.render(expr)
    if chain is None:  # the account's scalars: no underlying has bars here
        view.missing.add(f"{text} needs market data, which this evaluation does not have")
        return np.full(view.n, np.nan)
    symbols = view.field(None, "underlying_symbol")
    unique, inverse = np.unique(symbols, return_inverse=True)
    values = np.array([_cached(chain, expr, str(s), view.missing) for s in unique], dtype=float)
    out = values[inverse] if len(unique) else np.full(view.n, np.nan)
    return out == 1.0 if series.is_bool(expr) else out


def _cached(chain: Chain, expr: SeriesExpr, symbol: str, missing: set[str]) -> float:
    key = (expr, symbol)
    found = chain.memo.get(key)
    if found is None:
        found = _value(chain, expr, symbol)
        chain.memo[key] = found
    value, problem = found
    if problem:
        missing.add(problem)
    return value


def _value(chain: Chain, expr: SeriesExpr, symbol: str) -> tuple[float, str | None]:
    timeframe = series.timeframe(expr) or DAILY
    keep = series.history(expr)
    sources: dict[str, Bars | None] = {}

    def source(bar: Bar) -> Bars | None:
        if bar.name not in sources:
            sources[bar.name] = _bars(chain, bar.name, symbol, bar.timeframe)
        return sources[bar.name]

    def fetch(bar: Bar) -> np.ndarray:
        bars = source(bar)
        return np.zeros(0) if bars is None else getattr(bars, _BAR_ATTR[bar.name])[-keep:]

    shared = chain.memo.setdefault(("subtrees", symbol, keep), {})
    result = np.atleast_1d(np.asarray(series.evaluate(expr, fetch, shared), dtype=float))
    value = float(result[-1]) if len(result) else np.nan
    if np.isfinite(value):
        return value, None
    return np.nan, _shortfall(chain, expr, symbol, timeframe, source)


def _shortfall(chain, expr, symbol, timeframe, source) -> str:
    """Why a value is missing: no bars at this timeframe, or too few of them."""
    text = series.render(expr)
    leaves = _leaves(expr)
    stores = [source(leaf) for leaf in leaves]
    what = (
        "days of ATM IV history" if leaves and leaves[0].name == "atm_iv" else f"{timeframe} bars"
    )
    if timeframe.daily and what.endswith("bars"):
        what = "daily bars"
    if any(s is None for s in stores):
        if timeframe.ticks:
            where = "this data has no trade stream (give one with --bars SYMBOL=trades.csv)"
        elif timeframe.intraday:
            where = (
                "this data has no intraday bars (replay with synthetic-intraday or give minute "
                "bars)"
            )
        else:
            where = "this data has none"
        return f"{text} needs {what} of {symbol}: {where}"
    counts = [
        int(np.isfinite(getattr(bars, _BAR_ATTR[leaf.name])).sum())
        for bars, leaf in zip(stores, leaves, strict=True)
    ]
    return f"{text} needs {series.lookback(expr) + 1}+ {what} of {symbol}, has {min(counts)}"


def _leaves(expr: SeriesExpr) -> list[Bar]:
    if isinstance(expr, Bar):
        return [expr]
    if isinstance(expr, series.Apply):
        return [leaf for arg in expr.args for leaf in _leaves(arg)]
    return []


def _bars(chain: Chain, name: str, symbol: str, timeframe: Timeframe) -> Bars | None:
    if name == "atm_iv":
        return chain.iv_history.get(symbol)
    if timeframe.daily:
        return chain.bars.get(symbol)
    if chain.intraday is None:
        return None
    return chain.intraday.bars(symbol, timeframe)
