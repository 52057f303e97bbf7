"""A synthetic chain for benchmarks: flat-vol Black-Scholes quotes over many underlyings.

Only for timing: the arbitrage-free SSVI generator belongs to the analytics work.
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtr

from rulesengine.data.chain import COLUMNS, Chain, to_seconds


def synthetic_chain(underlyings: int, per_underlying: int, seed: int = 7) -> Chain:
    rng = np.random.default_rng(seed)
    from datetime import date

    today = to_seconds(date(2024, 1, 2))
    expiries_per = 10
    strikes_per = max(per_underlying // (2 * expiries_per), 1)
    n = underlyings * expiries_per * strikes_per * 2
    under = np.repeat(np.arange(underlyings), expiries_per * strikes_per * 2)
    price = rng.uniform(20, 500, underlyings)[under]
    dte = np.tile(
        np.repeat(np.linspace(3, 180, expiries_per).round(), strikes_per * 2), underlyings
    )
    moneyness = np.tile(
        np.repeat(np.linspace(0.7, 1.3, strikes_per), 2), underlyings * expiries_per
    )
    strike = np.round(price * moneyness, 0)
    is_call = np.tile([0, 1], n // 2).astype("i1")
    vol = rng.uniform(0.15, 0.6, underlyings)[under]
    years = dte / 365
    sd = vol * np.sqrt(years)
    d1 = (np.log(price / strike) + sd * sd / 2) / sd
    call = price * ndtr(d1) - strike * ndtr(d1 - sd)
    value = np.where(is_call == 1, call, call - price + strike)
    spread = np.maximum(0.05, value * rng.uniform(0.02, 0.15, n))
    cols = {
        name: np.zeros(n, dtype=dtype if dtype != "U" else "U6") for name, dtype in COLUMNS.items()
    }
    names = np.array([f"U{i:03d}" for i in range(underlyings)], dtype="U6")
    cols.update(
        underlying_symbol=names[under],
        root=names[under],
        symbol=np.array([""] * n, dtype="U6"),
        type=is_call,
        strike=strike,
        expiry=today + dte * 86400,
        quote_date=np.full(n, today),
        bid=np.maximum(value - spread / 2, 0).round(2),
        ask=(value + spread / 2).round(2),
        iv=vol,
        delta=np.where(is_call == 1, ndtr(d1), ndtr(d1) - 1),
        open_interest=rng.integers(0, 5000, n).astype(float),
        volume=rng.integers(0, 500, n).astype(float),
        underlying_price=price,
        forward=price,
        multiplier=np.full(n, 100.0),
        settlement=np.ones(n, dtype="i1"),
    )
    return Chain(cols)
