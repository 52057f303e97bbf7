"""Black-Scholes on the forward (Black-76 with zero discounting), vectorised."""

from __future__ import annotations

import numpy as np
from scipy.special import ndtr


def black_price(forward, strike, vol, years, is_call):
    """Undiscounted option value on a forward; at or past expiry, the intrinsic value."""
    forward, strike, vol, years = np.broadcast_arrays(
        *(np.asarray(x, dtype=float) for x in (forward, strike, vol, years))
    )
    intrinsic = np.where(
        is_call, np.maximum(forward - strike, 0.0), np.maximum(strike - forward, 0.0)
    )
    with np.errstate(all="ignore"):
        sd = vol * np.sqrt(years)
        d1 = (np.log(forward / strike) + 0.5 * sd * sd) / sd
        d2 = d1 - sd
        call = forward * ndtr(d1) - strike * ndtr(d2)
        put = strike * ndtr(-d2) - forward * ndtr(-d1)
    value = np.where(is_call, call, put)
    return np.where((sd > 0) & np.isfinite(value), value, intrinsic)


def lognormal_cdf(x, forward, vol, years):
    """P(S_T <= x) when ln S_T is normal with mean ln F - vol^2 T / 2 (the forward measure)."""
    with np.errstate(all="ignore"):
        sd = vol * np.sqrt(years)
        z = (np.log(x / forward) + 0.5 * sd * sd) / sd
        cdf = ndtr(z)
    cdf = np.where(x <= 0, 0.0, cdf)
    return np.where(np.isinf(x) & (x > 0), 1.0, cdf)
