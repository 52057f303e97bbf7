"""Indicators over each underlying's daily bars, evaluated per row of a view."""

from __future__ import annotations

import numpy as np

from rulesengine.runtime.view import View


def sma(values: np.ndarray, n: int) -> float:
    return float(np.mean(values[-n:])) if len(values) >= n else np.nan


def ema(values: np.ndarray, n: int) -> float:
    """Exponential moving average seeded with the SMA of the first n bars."""
    if len(values) < n:
        return np.nan
    alpha = 2.0 / (n + 1.0)
    level = float(np.mean(values[:n]))
    for value in values[n:]:
        level += alpha * (float(value) - level)
    return level


def rsi(values: np.ndarray, n: int) -> float:
    """Wilder's RSI: smoothed average gain over smoothed average loss, 0-100."""
    if len(values) <= n:
        return np.nan
    change = np.diff(values)
    gain, loss = np.clip(change, 0, None), np.clip(-change, 0, None)
    avg_gain, avg_loss = gain[:n].mean(), loss[:n].mean()
    for g, lo in zip(gain[n:], loss[n:], strict=True):
        avg_gain = (avg_gain * (n - 1) + g) / n
        avg_loss = (avg_loss * (n - 1) + lo) / n
    if avg_loss == 0:
        return 100.0
    return float(100.0 - 100.0 / (1.0 + avg_gain / avg_loss))


def hv(values: np.ndarray, n: int) -> float:
    """Annualised close-to-close volatility over n returns (252 sessions a year)."""
    if len(values) <= n:
        return np.nan
    returns = np.diff(np.log(values[-(n + 1) :]))
    return float(np.std(returns, ddof=1) * np.sqrt(252.0))


INDICATORS = {"sma": sma, "ema": ema, "rsi": rsi, "hv": hv}
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
