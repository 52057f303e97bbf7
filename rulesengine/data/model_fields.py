"""Model IV and greeks computed from the quotes, row by row and only for the rows asked for.

For feeds without greeks (or with dirty ones) rules can read `model_iv`, `model_delta`,
`model_gamma`, `model_theta`, `model_vega`. They are solved from the mid at the contract's
forward (the chain's forward where given, else the underlying price), undiscounted, with the
carry the forward implies; American-style contracts use Barone-Adesi-Whaley at the bundled
Treasury rate for the quote date and expiry (the dividend yield is that rate less the parity
carry) for the IV, and Black-Scholes greeks at that IV. Dates the curve does not cover use 0.
Computing them costs an IV solve, so the runtime asks only for the rows that survived the
cheaper clauses, and every row is solved at most once per chain.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from rulesengine.analytics.american import implied_vol_american
from rulesengine.analytics.bsm import bsm_greeks
from rulesengine.analytics.iv import implied_vol

MODEL_FIELDS = ("model_iv", "model_delta", "model_gamma", "model_theta", "model_vega")


@lru_cache(maxsize=1)
def _curves():
    from rulesengine.data.rates import YieldCurves  # rates reads chain dates: import late

    return YieldCurves.load()


def _treasury(quote_dates: np.ndarray, years: np.ndarray) -> np.ndarray:
    from rulesengine.data.rates import RatesError

    try:
        return _curves().rate(quote_dates, years)
    except RatesError:  # before 1990: no curve bundled
        return np.zeros(len(years))


def compute(chain, rows: np.ndarray) -> dict[str, np.ndarray]:
    """The model fields for `rows` of `chain`."""
    col = chain.columns
    spot = col["underlying_price"][rows]
    forward = np.where(np.isfinite(col["forward"][rows]), col["forward"][rows], spot)
    strike = col["strike"][rows]
    years = np.maximum(chain.column("dte")[rows], 0.25) / 365.0
    mid = chain.column("mid")[rows]
    call = col["type"][rows] == 1
    american = col["style"][rows] == 1
    with np.errstate(all="ignore"):
        carry = np.log(forward / spot) / years  # r - q, from parity
    carry = np.where(np.isfinite(carry), carry, 0.0)
    vol = implied_vol(mid, forward, strike, years, 1.0, call).vol
    rate = np.zeros(len(rows))
    if american.any():
        # early exercise depends on r itself, not only on r - q: a deep ITM put is worth
        # exercising for the interest on its strike. Treasury rate, dividend = r - carry.
        a = american
        rate[a] = _treasury(col["quote_date"][rows][a], years[a])
        vol[a] = implied_vol_american(
            mid[a], spot[a], strike[a], years[a], rate[a], rate[a] - carry[a], call[a]
        ).vol
    greeks = bsm_greeks(spot, strike, years, vol, rate, rate - carry, call)
    return {
        "model_iv": vol,
        "model_delta": greeks.delta,
        "model_gamma": greeks.gamma,
        "model_theta": greeks.theta,
        "model_vega": greeks.vega,
    }
