"""Probabilities and ranges under lognormal dynamics (risk-neutral, continuous monitoring)."""

from __future__ import annotations

import numpy as np
from scipy.special import ndtr


def prob_touch(spot, barrier, vol, years, rate=0.0, dividend=0.0) -> np.ndarray:
    """Probability that the price touches `barrier` before `years`, above or below the spot.

    For ln S with drift m = r - q - vol^2/2 and a barrier at distance a = ln(H/S):
    P = N((-|a| + s m T) / (vol sqrt T)) + exp(2 s m |a| / vol^2) N((-|a| - s m T) / (vol sqrt T)),
    with s = +1 for a barrier above the spot and -1 below (the reflection principle).
    """
    s0, h, v, t = (np.asarray(x, dtype=float) for x in (spot, barrier, vol, years))
    drift = np.asarray(rate, dtype=float) - np.asarray(dividend, dtype=float) - 0.5 * v * v
    with np.errstate(all="ignore"):
        distance = np.log(h / s0)
        side = np.sign(distance)
        a = np.abs(distance)
        sd = v * np.sqrt(t)
        toward = side * drift  # drift toward the barrier
        p = ndtr((-a + toward * t) / sd) + np.exp(2.0 * toward * a / (v * v)) * ndtr(
            (-a - toward * t) / sd
        )
    return np.where(a == 0, 1.0, np.clip(p, 0.0, 1.0))


def expected_move_iv(spot, vol, years) -> np.ndarray:
    """One standard deviation of the price at expiry implied by the volatility: S vol sqrt(T)."""
    return (
        np.asarray(spot, dtype=float)
        * np.asarray(vol, dtype=float)
        * np.sqrt(np.asarray(years, dtype=float))
    )


def expected_move_straddle(call_mid, put_mid) -> np.ndarray:
    """The market's expected move to an expiry: the at-the-money straddle's price."""
    return np.asarray(call_mid, dtype=float) + np.asarray(put_mid, dtype=float)
