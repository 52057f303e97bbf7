"""Carry implied by the market: forwards and dividend yields from put-call parity per expiry.

For European options C - P = DF (F - K). Per (underlying, quote date, expiry), the strikes
where both a call and a put have a two-sided quote give F = K + (C - P) / DF; the estimate is
the median over the `near` strikes closest to the money (where |C - P| is smallest, the quotes
are tightest and early exercise matters least).
"""

from __future__ import annotations

import numpy as np

from rulesengine.data.chain import DAY, Chain


def implied_forwards(chain: Chain, rates: np.ndarray, near: int = 3) -> np.ndarray:
    """Per-row parity-implied forward of the row's expiry (NaN where no pair is quoted).

    `rates` holds each row's continuously compounded rate to its expiry.
    """
    col = chain.column
    years = (col("expiry") - col("quote_date")) / DAY / 365.0
    discount = np.exp(-np.asarray(rates, dtype=float) * years)
    mid = np.where((col("bid") > 0) & (col("ask") >= col("bid")), col("mid"), np.nan)
    out = np.full(len(chain), np.nan)
    keys = np.stack(
        [col("underlying_code").astype(float), col("quote_date"), col("expiry")], axis=1
    )
    _, group = np.unique(keys, axis=0, return_inverse=True)
    group = group.reshape(-1)
    for g in np.unique(group):
        rows = np.flatnonzero(group == g)
        calls = rows[col("type")[rows] == 1]
        puts = rows[col("type")[rows] == 0]
        common, ci, pi = np.intersect1d(
            col("strike")[calls], col("strike")[puts], return_indices=True
        )
        c, p = mid[calls[ci]], mid[puts[pi]]
        quoted = np.isfinite(c) & np.isfinite(p)
        if not quoted.any():
            continue
        strikes, diff = common[quoted], (c - p)[quoted]
        df = discount[calls[ci][quoted]]
        closest = np.argsort(np.abs(diff))[:near]
        out[rows] = float(np.median(strikes[closest] + diff[closest] / df[closest]))
    return out


def implied_dividend_yield(spot, forward, rate, years) -> np.ndarray:
    """q such that F = S exp((r - q) T)."""
    with np.errstate(all="ignore"):
        return np.asarray(rate) - np.log(np.asarray(forward) / np.asarray(spot)) / np.asarray(years)
