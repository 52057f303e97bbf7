"""DSL indicator calls: each underlying's daily bars through analytics.indicators, per view row."""

from __future__ import annotations

import numpy as np

from rulesengine.analytics import indicators as ind
from rulesengine.runtime.view import View


def _last(series: np.ndarray) -> float:
    return float(series[-1]) if len(series) else np.nan


# DSL function -> its value on the latest bar of one underlying's history
INDICATORS = {
    "sma": lambda values, n: _last(ind.sma(values, n)),
    "ema": lambda values, n: _last(ind.ema(values, n)),
    "rsi": lambda values, n: _last(ind.rsi(values, n)),
    "hv": lambda values, n: _last(ind.hv_close(values, n)),
}
_SERIES_ATTR = {
    "close": "close",
    "open": "open",
    "high": "high",
    "low": "low",
    "underlying_volume": "volume",
}


def series_value(view: View, fn: str, series: str, n: int) -> np.ndarray:
    """fn(series, n) for each row's underlying (NaN where the bars are too short).

    A too-short history is recorded in `view.missing`, so a scan can say why nothing matched.
    """
    symbols = view.field(None, "underlying_symbol")
    unique, inverse = np.unique(symbols, return_inverse=True)
    values = []
    for symbol in unique:
        bars = view.chain.bars.get(str(symbol))
        history = getattr(bars, _SERIES_ATTR[series]) if bars is not None else np.zeros(0)
        value = INDICATORS[fn](history, n)
        if np.isnan(value):
            have = int(np.isfinite(history).sum())
            view.missing.add(f"{fn}({series}, {n}) needs {n}+ daily bars of {symbol}, has {have}")
        values.append(value)
    return np.array(values)[inverse] if len(unique) else np.full(view.n, np.nan)
