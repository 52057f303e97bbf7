"""Analytics benchmarks, single thread, N = 1M contracts. Figures go to the README.

analytics greeks N=1000000 ms=<x>
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.timing import median_ms
from rulesengine.analytics import indicators as ind
from rulesengine.analytics.bsm import bsm_greeks, bsm_price
from rulesengine.analytics.iv import IVReason, implied_vol_bsm
from rulesengine.data.synthetic import synthetic_market

N = 1_000_000


def chain_inputs(seed: int = 3):
    rng = np.random.default_rng(seed)
    spot = np.full(N, 100.0)
    strike = spot * np.exp(rng.normal(0, 0.2, N))
    years = rng.uniform(1 / 365, 2.0, N)
    vol = rng.uniform(0.08, 0.9, N)
    is_call = rng.random(N) < 0.5
    return spot, strike, years, vol, np.full(N, 0.03), np.full(N, 0.01), is_call


def main() -> None:
    s, k, t, v, r, q, call = chain_inputs()
    print(f"analytics greeks N={N} ms={median_ms(lambda: bsm_greeks(s, k, t, v, r, q, call)):.0f}")
    price = bsm_price(s, k, t, v, r, q, call)
    result = implied_vol_bsm(price, s, k, t, r, q, call)
    well = (result.reason == IVReason.OK) & (result.uncertainty <= 1e-10)
    max_err = float(np.max(np.abs(result.vol[well] - v[well])))
    ms = median_ms(lambda: implied_vol_bsm(price, s, k, t, r, q, call), repeat=3)
    print(f"analytics iv N={N} ms={ms:.0f} max_err={max_err:.1e} well_posed={well.mean():.4f}")
    indicators_benchmark()
    contracts = len(synthetic_market(500, 2000))
    ms = median_ms(lambda: synthetic_market(500, 2000), repeat=3)
    print(f"analytics synthetic contracts={contracts} underlyings=500 ms={ms:.0f}")


def indicator_set(high, low, close, volume) -> None:
    """Every indicator of analytics.indicators, once, over the whole table."""
    ind.sma(close, 50), ind.ema(close, 21), ind.rma(close, 14), ind.atr(high, low, close, 14)
    ind.rsi(close, 14), ind.macd(close), ind.bollinger(close, 20, 2.0)
    ind.supertrend(high, low, close, 10, 3.0), ind.average_volume(volume, 20)
    ind.atr_distance(high, low, close, 20), ind.aligned(close), ind.hv_close(close, 20)
    ind.hv_parkinson(high, low, 20)


def indicators_benchmark(bars: int = 20 * 252, symbols: int = 500) -> None:
    rng = np.random.default_rng(5)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.012, (bars, symbols)), axis=0))
    high = close * (1 + rng.uniform(0, 0.015, close.shape))
    low = close * (1 - rng.uniform(0, 0.015, close.shape))
    volume = rng.uniform(1e5, 1e7, close.shape)
    ms = median_ms(lambda: indicator_set(high, low, close, volume), repeat=3)
    print(f"analytics indicators bars={bars} symbols={symbols} ms={ms:.0f}")


if __name__ == "__main__":
    main()
