"""Indicators on daily bars, vectorised across symbols.

Every function takes arrays shaped (bars,) or (bars, symbols), oldest bar first, and returns
the same shape with NaN during the warm-up, following TA-Lib's definitions: SMA and EMA seeded
with the SMA of the first n values (alpha 2/(n+1)); Wilder's smoothing (RMA, alpha 1/n) for
ATR and RSI, seeded with the mean of the first n true ranges or changes; Bollinger bands with
the population standard deviation. Recursions loop over bars only; symbols are columns.
"""

from __future__ import annotations

from itertools import pairwise

import numpy as np

TRADING_DAYS = 252.0


def _columns(x) -> tuple[np.ndarray, bool]:
    array = np.asarray(x, dtype=float)
    return (array[:, None], True) if array.ndim == 1 else (array, False)


def _shaped(out: np.ndarray, flat: bool) -> np.ndarray:
    return out[:, 0] if flat else out


def sma(x, n: int) -> np.ndarray:
    values, flat = _columns(x)
    out = np.full(values.shape, np.nan)
    if len(values) >= n:
        total = np.cumsum(np.vstack([np.zeros((1, values.shape[1])), values]), axis=0)
        out[n - 1 :] = (total[n:] - total[:-n]) / n
    return _shaped(out, flat)


def _rolling_std(values: np.ndarray, n: int, ddof: int) -> np.ndarray:
    """Standard deviation of each n-bar window, computed on the window (no E[x^2] - E[x]^2
    cancellation)."""
    out = np.full(values.shape, np.nan)
    if len(values) >= n:
        windows = np.lib.stride_tricks.sliding_window_view(values, n, axis=0)
        out[n - 1 :] = windows.std(axis=-1, ddof=ddof)
    return out


def _smoothed(values: np.ndarray, alpha: float, n: int, start: int = 0) -> np.ndarray:
    """level = level + alpha (x - level), seeded with the mean of x[start:start+n].

    One symbol runs the recursion on Python floats (numpy per-element arithmetic is ten times
    slower); several run it row by row across the symbols."""
    out = np.full(values.shape, np.nan)
    first = start + n - 1
    if len(values) <= first:
        return out
    level = values[start : start + n].mean(axis=0)
    out[first] = level
    if values.shape[1] == 1:
        current = float(level[0])
        smoothed = []
        for x in values[first + 1 :, 0].tolist():
            current = current + alpha * (x - current)
            smoothed.append(current)
        out[first + 1 :, 0] = smoothed
        return out
    for t in range(first + 1, len(values)):
        level = level + alpha * (values[t] - level)
        out[t] = level
    return out


def ema(x, n: int) -> np.ndarray:
    values, flat = _columns(x)
    return _shaped(_smoothed(values, 2.0 / (n + 1.0), n), flat)


def rma(x, n: int) -> np.ndarray:
    """Wilder's moving average (alpha 1/n)."""
    values, flat = _columns(x)
    return _shaped(_smoothed(values, 1.0 / n, n), flat)


def true_range(high, low, close) -> np.ndarray:
    h, flat = _columns(high)
    lo, _ = _columns(low)
    c, _ = _columns(close)
    previous = np.vstack([np.full((1, c.shape[1]), np.nan), c[:-1]])
    with np.errstate(invalid="ignore"):
        tr = np.fmax(h - lo, np.fmax(np.abs(h - previous), np.abs(lo - previous)))
    tr[0] = np.nan  # the first bar has no previous close
    return _shaped(tr, flat)


def atr(high, low, close, n: int) -> np.ndarray:
    tr, flat = _columns(true_range(high, low, close))
    return _shaped(_smoothed(tr, 1.0 / n, n, start=1), flat)


def rsi(close, n: int = 14) -> np.ndarray:
    c, flat = _columns(close)
    change = np.vstack([np.full((1, c.shape[1]), np.nan), np.diff(c, axis=0)])
    gain = _smoothed(np.clip(change, 0, None), 1.0 / n, n, start=1)
    loss = _smoothed(np.clip(-change, 0, None), 1.0 / n, n, start=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(
            loss == 0, np.where(gain == 0, 0.0, 100.0), 100.0 - 100.0 / (1.0 + gain / loss)
        )
    return _shaped(np.where(np.isnan(gain), np.nan, out), flat)


def macd(
    close, fast: int = 12, slow: int = 26, signal: int = 9
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """MACD line, signal line and histogram, aligned as TA-Lib does: the fast EMA is seeded
    with the mean of the `fast` closes ending where the slow EMA starts, and the signal with
    the mean of the first `signal` MACD values."""
    c, flat = _columns(close)
    fast_ema = _smoothed(c, 2.0 / (fast + 1.0), fast, start=max(slow - fast, 0))
    line = fast_ema - _smoothed(c, 2.0 / (slow + 1.0), slow)
    sig = _smoothed(line, 2.0 / (signal + 1.0), signal, start=slow - 1)
    line = np.where(np.isnan(sig), np.nan, line)  # as TA-Lib: all three start together
    return _shaped(line, flat), _shaped(sig, flat), _shaped(line - sig, flat)


def bollinger(close, n: int = 20, width: float = 2.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Lower, middle and upper band: SMA -+ width population standard deviations."""
    c, flat = _columns(close)
    middle = sma(c, n)
    spread = _rolling_std(c, n, ddof=0)
    lower, upper = middle - width * spread, middle + width * spread
    return (_shaped(lower, flat), _shaped(middle, flat), _shaped(upper, flat))


def supertrend(
    high, low, close, n: int = 10, multiplier: float = 3.0
) -> tuple[np.ndarray, np.ndarray]:
    """Supertrend line and direction (+1 up, -1 down) from ATR bands around (high + low) / 2.

    The final upper band only falls (unless the close broke above it), the lower band only
    rises (unless the close broke below it); the trend flips when the close crosses the band.
    """
    h, flat = _columns(high)
    lo, _ = _columns(low)
    c, _ = _columns(close)
    band = multiplier * atr(h, lo, c, n)
    mid = (h + lo) / 2.0
    basic_upper, basic_lower = mid + band, mid - band
    line = np.full(c.shape, np.nan)
    direction = np.full(c.shape, np.nan)
    start = n  # the first bar with an ATR
    if len(c) <= start:
        return _shaped(line, flat), _shaped(direction, flat)
    upper, lower = basic_upper[start].copy(), basic_lower[start].copy()
    trend = np.where(c[start] > upper, 1.0, -1.0)
    line[start] = np.where(trend > 0, lower, upper)
    direction[start] = trend
    for t in range(start + 1, len(c)):
        previous_close = c[t - 1]
        upper = np.where((basic_upper[t] < upper) | (previous_close > upper), basic_upper[t], upper)
        lower = np.where((basic_lower[t] > lower) | (previous_close < lower), basic_lower[t], lower)
        trend = np.where(
            trend < 0, np.where(c[t] > upper, 1.0, -1.0), np.where(c[t] < lower, -1.0, 1.0)
        )
        line[t] = np.where(trend > 0, lower, upper)
        direction[t] = trend
    return _shaped(line, flat), _shaped(direction, flat)


def average_volume(volume, n: int = 20) -> np.ndarray:
    return sma(volume, n)


def atr_distance(high, low, close, n: int = 20) -> np.ndarray:
    """How many ATRs the close is above (or below) its n-bar SMA."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return (np.asarray(close, dtype=float) - sma(close, n)) / atr(high, low, close, n)


def aligned(close, periods=(20, 50, 200)) -> np.ndarray:
    """True where the SMAs are stacked in order (shortest above): an uptrend's alignment."""
    averages = [sma(close, p) for p in periods]
    out = np.ones(np.shape(averages[0]), dtype=bool)
    for faster, slower in pairwise(averages):
        with np.errstate(invalid="ignore"):
            out &= faster > slower
    return out


def hv_close(close, n: int = 20) -> np.ndarray:
    """Annualised close-to-close volatility over n log returns (sample std, 252 days)."""
    c, flat = _columns(close)
    returns = np.vstack([np.full((1, c.shape[1]), np.nan), np.diff(np.log(c), axis=0)])
    return _shaped(_rolling_std(returns, n, ddof=1) * np.sqrt(TRADING_DAYS), flat)


def hv_parkinson(high, low, n: int = 20) -> np.ndarray:
    """Parkinson's range-based volatility: sqrt(mean(ln(H/L)^2) / (4 ln 2) * 252)."""
    squared = np.log(np.asarray(high, dtype=float) / np.asarray(low, dtype=float)) ** 2
    return np.sqrt(sma(squared, n) / (4.0 * np.log(2.0)) * TRADING_DAYS)


def iv_rank(iv, n: int = 252) -> np.ndarray:
    """(IV - lowest) / (highest - lowest) over the last n values, as a fraction."""
    values, flat = _columns(iv)
    out = np.full(values.shape, np.nan)
    for t in range(n - 1, len(values)):
        window = values[t - n + 1 : t + 1]
        low, high = window.min(axis=0), window.max(axis=0)
        with np.errstate(divide="ignore", invalid="ignore"):
            out[t] = np.where(high > low, (values[t] - low) / (high - low), 0.5)
    return _shaped(out, flat)


def iv_percentile(iv, n: int = 252) -> np.ndarray:
    """Share of the previous n - 1 values below the current one."""
    values, flat = _columns(iv)
    out = np.full(values.shape, np.nan)
    for t in range(n - 1, len(values)):
        out[t] = (values[t - n + 1 : t] < values[t]).mean(axis=0)
    return _shaped(out, flat)
