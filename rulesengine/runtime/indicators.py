"""DSL indicator calls: each underlying's daily bars through analytics.indicators, per view row."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from rulesengine.analytics import indicators as ind
from rulesengine.data.chain import Bars
from rulesengine.runtime.view import Fields


def _last(series: np.ndarray) -> float:
    return float(series[-1]) if len(series) else np.nan


def _series(bars: Bars, name: str | None) -> np.ndarray:
    return getattr(bars, _SERIES_ATTR[name or "close"])


# DSL function -> its value on the latest bar of one underlying's history
INDICATORS: dict[str, Callable[[Bars, str | None, tuple[float, ...]], float]] = {
    "sma": lambda b, s, c: _last(ind.sma(_series(b, s), int(c[0]))),
    "ema": lambda b, s, c: _last(ind.ema(_series(b, s), int(c[0]))),
    "rsi": lambda b, s, c: _last(ind.rsi(b.close, int(c[0]))),
    "hv": lambda b, s, c: _last(ind.hv_close(b.close, int(c[0]))),
    "iv_rank": lambda b, s, c: _last(ind.iv_rank(b.close, int(c[0]))),
    "iv_percentile": lambda b, s, c: _last(ind.iv_percentile(b.close, int(c[0]))),
    "atr": lambda b, s, c: _last(ind.atr(b.high, b.low, b.close, int(c[0]))),
    "supertrend": lambda b, s, c: _last(ind.supertrend(b.high, b.low, b.close, int(c[0]), c[1])[0]),
}
_NEEDS_RANGE = {"atr", "supertrend"}
_READS_IV_HISTORY = {"iv_rank", "iv_percentile"}
_SERIES_ATTR = {
    "close": "close",
    "open": "open",
    "high": "high",
    "low": "low",
    "underlying_volume": "volume",
}


def series_value(
    view: Fields, fn: str, series: str | None, constants: tuple[float, ...]
) -> np.ndarray:
    """fn(...) for each row's underlying (NaN where the bars are too short or lack a field).

    A history too short or missing a field is recorded in `view.missing`, so a scan can say why
    nothing matched.
    """
    chain = view.chain
    if chain is None:  # the account's scalars: no underlying has bars here
        view.missing.add(f"{fn}() needs market data, which this evaluation does not have")
        return np.full(view.n, np.nan)
    symbols = view.field(None, "underlying_symbol")
    unique, inverse = np.unique(symbols, return_inverse=True)
    values = []
    for symbol in unique:
        source = chain.iv_history if fn in _READS_IV_HISTORY else chain.bars
        bars = source.get(str(symbol))
        value = (
            INDICATORS[fn](bars, series, constants)
            if bars is not None and len(bars.dates)
            else np.nan
        )
        if np.isnan(value):
            used = "high" if fn in _NEEDS_RANGE else series  # atr and supertrend need high/low
            have = 0 if bars is None else int(np.isfinite(_series(bars, used)).sum())
            call = (
                f"{fn}({', '.join(([series] if series else []) + [f'{c:g}' for c in constants])})"
            )
            needed = int(constants[0]) if constants else 1
            what = "days of ATM IV history" if fn in _READS_IV_HISTORY else "daily bars"
            view.missing.add(f"{call} needs {needed}+ {what} of {symbol}, has {have}")
        values.append(value)
    return np.array(values)[inverse] if len(unique) else np.full(view.n, np.nan)
