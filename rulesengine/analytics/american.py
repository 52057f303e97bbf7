"""American options: the Barone-Adesi-Whaley (1987) quadratic approximation, vectorised.

The early-exercise premium is A (S / S*)^q above (calls) or below (puts) the critical price S*,
found by Newton's method on the smooth-pasting condition for every row at once. With cost of
carry b = r - q >= r (no dividend) an American call is worth its European value. Accuracy is
the model's own (about 1e-3 of the price against a fine binomial tree for typical inputs).
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtr

from rulesengine.analytics.bsm import bsm_price
from rulesengine.analytics.iv import ImpliedVol, IVReason, implied_vol_bsm

_SQRT_2PI = np.sqrt(2.0 * np.pi)
CRITICAL_TOLERANCE = 1e-12  # relative, on the smooth-pasting condition
MAX_STEPS = 100


def _d1(s, k, b, v, t):
    return (np.log(s / k) + (b + 0.5 * v * v) * t) / (v * np.sqrt(t))


def _critical_price(k, t, r, b, v, is_call):
    """S* (calls) or S** (puts): where exercising and holding are worth the same."""
    sqrt_t = np.sqrt(t)
    m, n = 2.0 * r / (v * v), 2.0 * b / (v * v)
    # m / (1 - e^(-rT)) tends to 2 / (vol^2 T) as r -> 0, where both vanish
    with np.errstate(divide="ignore", invalid="ignore"):
        m_over_k = np.where(np.abs(r * t) > 1e-12, m / -np.expm1(-r * t), 2.0 / (v * v * t))
    root = np.sqrt((n - 1.0) ** 2 + 4.0 * m_over_k)
    q = np.where(is_call, (-(n - 1.0) + root) / 2.0, (-(n - 1.0) - root) / 2.0)
    # Haug's seed: the perpetual critical price, pulled toward the strike for finite T
    root_inf = np.sqrt((n - 1.0) ** 2 + 4.0 * m)
    q_inf = np.where(is_call, (-(n - 1.0) + root_inf) / 2.0, (-(n - 1.0) - root_inf) / 2.0)
    s_inf = k / (1.0 - 1.0 / q_inf)
    h = np.where(
        is_call,
        -(b * t + 2.0 * v * sqrt_t) * k / (s_inf - k),
        (b * t - 2.0 * v * sqrt_t) * k / (k - s_inf),
    )
    h = np.minimum(h, 0.0)  # at low vol S_inf nears K and h blows up; 0 seeds at the strike
    s = np.where(is_call, k + (s_inf - k) * (1.0 - np.exp(h)), s_inf + (k - s_inf) * np.exp(h))
    carry = np.exp((b - r) * t)
    sign = np.where(is_call, 1.0, -1.0)
    for _ in range(MAX_STEPS):
        d1 = _d1(s, k, b, v, t)
        european = bsm_price(s, k, t, v, r, r - b, is_call)
        edge = 1.0 - carry * ndtr(sign * d1)
        lhs = sign * (s - k)
        rhs = european + sign * edge * s / q
        density = carry * np.exp(-0.5 * d1 * d1) / (_SQRT_2PI * v * sqrt_t)
        slope = sign * carry * ndtr(sign * d1) * (1.0 - 1.0 / q) + (sign - density) / q
        # Newton on lhs - rhs = 0 with d lhs/dS = sign, d rhs/dS = slope
        step = (lhs - rhs) / (sign - slope)
        # S* lies above the strike for calls, S** below it for puts: keep every iterate there
        s = np.where(is_call, np.maximum(s - step, k), np.clip(s - step, 1e-12 * k, k))
        if np.all(np.abs(lhs - rhs) <= CRITICAL_TOLERANCE * k):
            break
    return s, q


def baw_price(spot, strike, years, vol, rate, dividend, is_call) -> np.ndarray:
    """American option value (Barone-Adesi-Whaley)."""
    s, k, t, v, r, q = np.broadcast_arrays(
        *(np.asarray(x, dtype=float) for x in (spot, strike, years, vol, rate, dividend))
    )
    call = np.broadcast_to(np.asarray(is_call, dtype=bool), s.shape)
    b = r - q
    european = bsm_price(s, k, t, v, r, q, call)
    out = european.copy()
    # early exercise can matter: puts with r > 0, calls paying dividends (b < r)
    needs = np.where(call, b < r, r > 0) & (t > 0) & (v > 0)
    if not needs.any():
        return out
    idx = np.flatnonzero(needs.reshape(-1))
    sf, kf, tf, vf, rf, bf, cf = (a.reshape(-1)[idx] for a in (s, k, t, v, r, b, call))
    critical, power = _critical_price(kf, tf, rf, bf, vf, cf)
    sign = np.where(cf, 1.0, -1.0)
    d1 = _d1(critical, kf, bf, vf, tf)
    weight = sign * (critical / power) * (1.0 - np.exp((bf - rf) * tf) * ndtr(sign * d1))
    euro = european.reshape(-1)[idx]
    exercise_now = np.where(cf, sf >= critical, sf <= critical)
    with np.errstate(over="ignore"):  # the premium of rows past S* is computed, then dropped
        premium = weight * (sf / critical) ** power
    value = np.where(exercise_now, sign * (sf - kf), euro + premium)
    flat = out.reshape(-1)
    flat[idx] = np.maximum(value, euro)
    return flat.reshape(s.shape)


def implied_vol_american(price, spot, strike, years, rate, dividend, is_call, max_steps: int = 100):
    """Volatility at which the BAW value equals the price; NaN with a reason code otherwise.

    The European implied volatility of the same price bounds the answer from above (the
    early-exercise premium only adds value), so each row keeps a bracket and takes Illinois
    (regula falsi) steps on the BAW price inside it.
    """
    p, s, k, t, r, q = np.broadcast_arrays(
        *(np.asarray(x, dtype=float) for x in (price, spot, strike, years, rate, dividend))
    )
    call = np.broadcast_to(np.asarray(is_call, dtype=bool), p.shape)
    european = implied_vol_bsm(p, s, k, t, r, q, call)
    vol = np.full(p.shape, np.nan)
    reason = np.full(p.shape, IVReason.OK, dtype=np.int8)
    with np.errstate(all="ignore"):
        valid = (
            np.isfinite(p)
            & np.isfinite(s)
            & np.isfinite(k)
            & (p >= 0)
            & (s > 0)
            & (k > 0)
            & (t > 0)
        )
        exercise = np.where(call, np.maximum(s - k, 0.0), np.maximum(k - s, 0.0))
        upper = np.where(call, s, k)
    reason[~valid] = IVReason.INVALID_INPUT
    reason[valid & (p < exercise - 1e-12 * np.maximum(s, k))] = IVReason.BELOW_INTRINSIC
    reason[valid & (reason == IVReason.OK) & (p >= upper)] = IVReason.ABOVE_UPPER_BOUND
    rows = np.flatnonzero((reason == IVReason.OK).reshape(-1))
    if len(rows):
        p1, s1, k1, t1, r1, q1, call1, vol1 = (
            a.reshape(-1)[rows] for a in (p, s, k, t, r, q, call, european.vol)
        )
        solved, codes = _solve_american(p1, s1, k1, t1, r1, q1, call1, vol1, max_steps)
        vol.reshape(-1)[rows] = solved
        reason.reshape(-1)[rows] = codes
    return ImpliedVol(vol, reason, np.where(np.isfinite(vol), 0.0, np.nan))


def _solve_american(p, s, k, t, r, q, call, european_vol, max_steps):
    def gap(v):
        return baw_price(s, k, t, v, r, q, call) - p

    lo = np.full(p.shape, 1e-4)
    hi = np.where(np.isfinite(european_vol), european_vol * (1 + 1e-9) + 1e-12, 5.0)
    f_lo, f_hi = gap(lo), gap(hi)
    codes = np.full(p.shape, IVReason.OK, dtype=np.int8)
    codes[f_lo >= 0] = IVReason.BELOW_RESOLUTION  # no time value left to carry a volatility
    codes[(f_lo < 0) & (f_hi < 0)] = IVReason.ABOVE_UPPER_BOUND
    solve = codes == IVReason.OK
    x = np.where(solve, 0.5 * (lo + hi), np.nan)
    tolerance = 1e-12 * np.maximum(p, 1e-8)
    for _ in range(max_steps):
        active = solve & (hi - lo > 1e-13)
        if not active.any():
            break
        x = np.where(active, hi - f_hi * (hi - lo) / (f_hi - f_lo), x)
        fx = np.where(active, gap(np.where(active, x, 0.2)), 0.0)
        same_as_hi = fx > 0
        done = active & (np.abs(fx) <= tolerance)
        # Illinois: halve the stale end's value so the bracket shrinks from both sides
        move_hi = active & same_as_hi & ~done
        move_lo = active & ~same_as_hi & ~done
        hi, f_hi, f_lo = (
            np.where(move_hi, x, hi),
            np.where(move_hi, fx, f_hi),
            np.where(move_hi, 0.5 * f_lo, f_lo),
        )
        lo, f_lo, f_hi = (
            np.where(move_lo, x, lo),
            np.where(move_lo, fx, f_lo),
            np.where(move_lo, 0.5 * f_hi, f_hi),
        )
        solve = solve & ~done
        lo = np.where(done, x, lo)
        hi = np.where(done, x, hi)
    out = np.where(codes == IVReason.OK, np.where(np.isfinite(x), x, 0.5 * (lo + hi)), np.nan)
    return out, codes
