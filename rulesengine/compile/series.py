"""Series expressions: indicators over bars, as the payload of a graph's `series` nodes.

`crosses_above(ema(close, 9, 5m), ema(close, 21, 5m))` lowers to one `series` node whose
payload is the tree Apply(crosses_above, [Apply(ema, [Bar(close, 5m)], 9), ...]). The runtime
evaluates the tree over each underlying's bars of that timeframe (bar-close semantics: only
completed bars) and the node's value is the tree's value on the last bar. One table, SERIES,
says what every series function computes and how much history it needs; the checker's
registry (check.names.FUNCTIONS) says how it is written, and a test keeps the two in step.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from rulesengine.analytics import indicators as ind
from rulesengine.check.timeframes import Timeframe


@dataclass(frozen=True)
class Bar:
    """One bar field (close, open, high, low, underlying_volume, atm_iv) at a timeframe."""

    name: str
    timeframe: Timeframe


@dataclass(frozen=True)
class Lit:
    """A constant, e.g. the 30 of `crosses_above(rsi(14), 30)`."""

    value: float


@dataclass(frozen=True)
class Apply:
    fn: str
    args: tuple[SeriesExpr, ...]  # series inputs, implicit ones (rsi's close) included
    constants: tuple[float, ...]


SeriesExpr = Bar | Lit | Apply


@dataclass(frozen=True)
class SeriesSpec:
    name: str
    kernel: Callable[..., np.ndarray]  # (input arrays..., constants...) -> array over bars
    lookback: Callable[[tuple[float, ...]], int]  # bars consumed before the first value
    settle: Callable[[tuple[float, ...]], int]  # bars for a recursive value to forget its seed
    inputs: tuple[str, ...] = ()  # bars read implicitly (rsi: close); empty: series arguments
    result: str = "number"  # 'number' | 'bool'
    per_year: bool = False  # annualised from daily bars: rescaled to the timeframe's bars a year


def _n(c: tuple[float, ...]) -> int:
    return int(c[0])


def _shift(x: np.ndarray, n: int) -> np.ndarray:
    out = np.full(x.shape, np.nan)
    if n < len(x):
        out[n:] = x[: len(x) - n]
    return out


def _rolling(x: np.ndarray, n: int, reduce: Callable[..., np.ndarray]) -> np.ndarray:
    out = np.full(x.shape, np.nan)
    if len(x) >= n:
        out[n - 1 :] = reduce(np.lib.stride_tricks.sliding_window_view(x, n), axis=-1)
    return out


def _stddev(x: np.ndarray, n: int) -> np.ndarray:  # population, as TA-Lib's STDDEV
    return _rolling(x, n, np.std)


def _zscore(x: np.ndarray, n: int) -> np.ndarray:
    spread = _stddev(x, n)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(spread > 0, (x - ind.sma(x, n)) / spread, np.nan)


def _change_pct(x: np.ndarray, n: int) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return x / _shift(x, n) - 1.0


def _crosses(above: bool) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """True on the bar where a moves from at-or-below b to above it (or the reverse): an event,
    not a state. Without both bars' values (too little history) the result is NaN: no
    crossing, and the scan says the indicator lacks history."""

    def kernel(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        a, b = np.broadcast_arrays(np.asarray(a, dtype=float), np.asarray(b, dtype=float))
        before_a, before_b = _shift(a, 1), _shift(b, 1)
        if not above:
            a, b, before_a, before_b = b, a, before_b, before_a
        with np.errstate(invalid="ignore"):
            hit = (a > b) & (before_a <= before_b)
        known = np.isfinite(a) & np.isfinite(b) & np.isfinite(before_a) & np.isfinite(before_b)
        return np.where(known, hit.astype(float), np.nan)  # unknown: no value, said so

    return kernel


def _cci(high: np.ndarray, low: np.ndarray, close: np.ndarray, n: int) -> np.ndarray:
    """Commodity Channel Index as TA-Lib: (typical - SMA) / (0.015 * mean absolute deviation)."""
    typical = (high + low + close) / 3.0
    out = np.full(typical.shape, np.nan)
    if len(typical) >= n:
        windows = np.lib.stride_tricks.sliding_window_view(typical, n)
        mean = windows.mean(axis=-1)
        deviation = np.abs(windows - mean[:, None]).mean(axis=-1)
        with np.errstate(divide="ignore", invalid="ignore"):
            out[n - 1 :] = np.where(
                deviation > 0, (typical[n - 1 :] - mean) / (0.015 * deviation), 0.0
            )
    return out


def _aligned(close: np.ndarray, periods: tuple[float, ...]) -> np.ndarray:
    """1 where the SMAs are stacked shortest above, 0 where not, NaN until the longest has a
    value."""
    stacked = ind.aligned(close, tuple(int(p) for p in periods)).astype(float)
    longest = ind.sma(close, int(max(periods)))
    return np.where(np.isfinite(longest), stacked, np.nan)


def _ones(_: tuple[float, ...]) -> int:
    return 1


def _macd_lookback(c: tuple[float, ...]) -> int:
    return int(c[1]) + int(c[2]) - 2


def _macd_settle(c: tuple[float, ...]) -> int:
    return 10 * int(c[1]) + 10 * int(c[2])


_SPECS = (
    SeriesSpec("sma", lambda x, n: ind.sma(x, int(n)), lambda c: _n(c) - 1, _n),
    SeriesSpec("ema", lambda x, n: ind.ema(x, int(n)), lambda c: _n(c) - 1, lambda c: 10 * _n(c)),
    SeriesSpec("rma", lambda x, n: ind.rma(x, int(n)), lambda c: _n(c) - 1, lambda c: 20 * _n(c)),
    SeriesSpec("highest", lambda x, n: _rolling(x, int(n), np.max), lambda c: _n(c) - 1, _n),
    SeriesSpec("lowest", lambda x, n: _rolling(x, int(n), np.min), lambda c: _n(c) - 1, _n),
    SeriesSpec("stddev", lambda x, n: _stddev(x, int(n)), lambda c: _n(c) - 1, _n),
    SeriesSpec("zscore", lambda x, n: _zscore(x, int(n)), lambda c: _n(c) - 1, _n),
    SeriesSpec("change_pct", lambda x, n: _change_pct(x, int(n)), _n, _n),
    SeriesSpec("prev", lambda x, n: _shift(x, int(n)), _n, _n),
    SeriesSpec("crosses_above", _crosses(True), _ones, _ones, result="bool"),
    SeriesSpec("crosses_below", _crosses(False), _ones, _ones, result="bool"),
    SeriesSpec(
        "macd",
        lambda x, f, s, g: ind.macd(x, int(f), int(s), int(g))[0],
        _macd_lookback,
        _macd_settle,
    ),
    SeriesSpec(
        "macd_signal",
        lambda x, f, s, g: ind.macd(x, int(f), int(s), int(g))[1],
        _macd_lookback,
        _macd_settle,
    ),
    SeriesSpec(
        "macd_hist",
        lambda x, f, s, g: ind.macd(x, int(f), int(s), int(g))[2],
        _macd_lookback,
        _macd_settle,
    ),
    SeriesSpec("bb_upper", lambda x, n, k: ind.bollinger(x, int(n), k)[2], lambda c: _n(c) - 1, _n),
    SeriesSpec(
        "bb_middle", lambda x, n, k: ind.bollinger(x, int(n), k)[1], lambda c: _n(c) - 1, _n
    ),
    SeriesSpec("bb_lower", lambda x, n, k: ind.bollinger(x, int(n), k)[0], lambda c: _n(c) - 1, _n),
    SeriesSpec("rsi", lambda c, n: ind.rsi(c, int(n)), _n, lambda c: 20 * _n(c), inputs=("close",)),
    SeriesSpec(
        "hv", lambda c, n: ind.hv_close(c, int(n)), _n, _n, inputs=("close",), per_year=True
    ),
    SeriesSpec(
        "hv_parkinson",
        lambda h, lo, n: ind.hv_parkinson(h, lo, int(n)),
        lambda c: _n(c) - 1,
        _n,
        inputs=("high", "low"),
        per_year=True,
    ),
    SeriesSpec(
        "atr_distance",
        lambda h, lo, c, n: ind.atr_distance(h, lo, c, int(n)),
        _n,
        lambda c: 20 * _n(c),
        inputs=("high", "low", "close"),
    ),
    SeriesSpec(
        "supertrend_dir",
        lambda h, lo, c, n, k: ind.supertrend(h, lo, c, int(n), k)[1],
        _n,
        lambda c: 20 * _n(c),
        inputs=("high", "low", "close"),
    ),
    SeriesSpec(
        "aligned",
        lambda c, *periods: _aligned(c, periods),
        lambda c: int(max(c)) - 1,
        lambda c: int(max(c)),
        inputs=("close",),
        result="bool",
    ),
    SeriesSpec(
        "atr",
        lambda h, lo, c, n: ind.atr(h, lo, c, int(n)),
        _n,
        lambda c: 20 * _n(c),
        inputs=("high", "low", "close"),
    ),
    SeriesSpec(
        "supertrend",
        lambda h, lo, c, n, k: ind.supertrend(h, lo, c, int(n), k)[0],
        _n,
        lambda c: 20 * _n(c),
        inputs=("high", "low", "close"),
    ),
    SeriesSpec(
        "cci",
        lambda h, lo, c, n: _cci(h, lo, c, int(n)),
        lambda c: _n(c) - 1,
        _n,
        inputs=("high", "low", "close"),
    ),
    SeriesSpec(
        "iv_rank", lambda v, n: ind.iv_rank(v, int(n)), lambda c: _n(c) - 1, _n, inputs=("atm_iv",)
    ),
    SeriesSpec(
        "iv_percentile",
        lambda v, n: ind.iv_percentile(v, int(n)),
        lambda c: _n(c) - 1,
        _n,
        inputs=("atm_iv",),
    ),
)

SERIES: dict[str, SeriesSpec] = {spec.name: spec for spec in _SPECS}


def bars_a_year(bars: Timeframe | None) -> float:
    """Bars of a timeframe in a trading year (252 sessions of 6.5 hours), for annualising."""
    if bars is None or bars.daily:
        return 252.0
    if bars.ticks:
        return float("nan")  # tick bars have no fixed count: the checker refuses (E111)
    return 252.0 * 390.0 * 60.0 / bars.seconds


def timeframe(expr: SeriesExpr) -> Timeframe | None:
    """The timeframe of a tree's bars (the checker makes them one)."""
    if isinstance(expr, Bar):
        return expr.timeframe
    if isinstance(expr, Apply):
        for arg in expr.args:
            found = timeframe(arg)
            if found is not None:
                return found
    return None


def lookback(expr: SeriesExpr) -> int:
    """Bars needed before the tree has its first value."""
    if not isinstance(expr, Apply):
        return 0
    inner = max((lookback(a) for a in expr.args), default=0)
    return inner + SERIES[expr.fn].lookback(expr.constants)


def history(expr: SeriesExpr) -> int:
    """Bars to evaluate so the last value is the converged one (recursive averages forget their
    seed): the engine evaluates only this many recent bars each tick."""
    if not isinstance(expr, Apply):
        return 1
    inner = max((history(a) for a in expr.args), default=1)
    spec = SERIES[expr.fn]
    return inner + max(spec.lookback(expr.constants), spec.settle(expr.constants)) + 1


def evaluate(
    expr: SeriesExpr, fetch: Callable[[Bar], np.ndarray], memo: dict | None = None
) -> np.ndarray | float:
    """The tree's values over bars; `fetch` gives a bar field's recent values, oldest first.
    `memo` shares subtrees between trees read over the same bars (crosses_above and
    crosses_below of the same two averages compute each average once)."""
    if isinstance(expr, Bar):
        return fetch(expr)
    if isinstance(expr, Lit):
        return expr.value
    if memo is not None and expr in memo:
        return memo[expr]
    inputs = [evaluate(a, fetch, memo) for a in expr.args]
    arrays = [np.asarray(x, dtype=float) for x in inputs]
    if all(a.ndim == 0 for a in arrays):  # constants only: not a series (the checker's E113)
        return float("nan")
    length = max(len(a) for a in arrays if a.ndim)
    arrays = [np.full(length, float(a)) if a.ndim == 0 else a for a in arrays]
    spec = SERIES[expr.fn]
    with np.errstate(all="ignore"):
        out = spec.kernel(*arrays, *expr.constants)
        if spec.per_year:
            out = out * np.sqrt(bars_a_year(timeframe(expr)) / 252.0)
    if memo is not None:
        memo[expr] = out
    return out


def is_bool(expr: SeriesExpr) -> bool:
    return isinstance(expr, Apply) and SERIES[expr.fn].result == "bool"


def render(expr: SeriesExpr, outer: Timeframe | None = None) -> str:
    """The tree as a trader writes it; the timeframe shows once, on the outermost intraday call."""
    if isinstance(expr, Lit):
        return f"{expr.value:g}"
    if isinstance(expr, Bar):
        return expr.name
    own = timeframe(expr)
    spec = SERIES[expr.fn]
    shown = [] if spec.inputs else [render(a, own) for a in expr.args]
    shown += [f"{c:g}" for c in expr.constants]
    if own is not None and own != outer and own.intraday:
        shown.append(own.text)
    return f"{expr.fn}({', '.join(shown)})"
