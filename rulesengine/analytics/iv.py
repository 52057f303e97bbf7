"""Implied volatility, vectorised and robust over whole chains.

Every option is first reduced to the out-of-the-money option on the same strike (put-call
parity on the forward), then to Black's normalised price b(s) = price / sqrt(F K) with
x = -|ln(F/K)| and s = vol * sqrt(T). The solver takes Halley steps on ln b(s) - ln b*, which
stays well conditioned for tiny far-OTM prices where a Newton step on the raw price stalls or
jumps to a wrong root. Below the inflection point s_c = sqrt(2|x|), b is computed through
erfcx so that neither term underflows. Each row keeps a bracket [lo, hi] and falls back to
bisection when a step would leave it.

Where a price cannot determine a volatility the result is NaN with a reason code, never a number.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import numpy as np
from scipy.special import erfcx, ndtr, ndtri

_LOG_SQRT_2PI = 0.5 * np.log(2.0 * np.pi)
_SQRT_HALF = np.sqrt(0.5)
MAX_ITERATIONS = 60
EPSILON = np.finfo(float).eps
# A volatility that float rounding of the price moves by more than this share of itself is not
# determined by the price: NaN with BELOW_RESOLUTION.
MAX_RELATIVE_UNCERTAINTY = 1e-4
_TAIL = -20.0  # below this a = x/s + s/2, N(a) is near underflow: use erfcx


class IVReason(IntEnum):
    OK = 0
    INVALID_INPUT = 1  # NaN, non-positive price, strike, forward or time
    BELOW_INTRINSIC = 2  # price under the (forward) intrinsic value
    ABOVE_UPPER_BOUND = 3  # call above the forward, put above the strike (discounted)
    BELOW_RESOLUTION = 4  # time value too small for float64 to carry a volatility
    NO_CONVERGENCE = 5


@dataclass(frozen=True)
class ImpliedVol:
    vol: np.ndarray
    reason: np.ndarray  # IVReason codes, int8
    # How far float64 rounding of the price alone can move the volatility (absolute): the
    # price's last bit over the option's vega, taken on the time value that carries the vol.
    uncertainty: np.ndarray


def _log_b(x: np.ndarray, s: np.ndarray) -> np.ndarray:
    """ln of the normalised OTM Black price b = e^(x/2) N(a) - e^(-x/2) N(a - s), x <= 0."""
    a = x / s + 0.5 * s
    tail = a < _TAIL
    if not tail.any():
        half = 0.5 * x
        return np.log(np.exp(half) * ndtr(a) - np.exp(-half) * ndtr(a - s))
    out = np.empty_like(s)
    body = ~tail
    half = 0.5 * x[body]
    out[body] = np.log(np.exp(half) * ndtr(a[body]) - np.exp(-half) * ndtr(a[body] - s[body]))
    # Deep tail: N(a) would underflow. With N(-z) = erfcx(z / sqrt 2) e^(-z^2 / 2) / 2 both terms
    # share the factor e^(-(x^2/s^2 + s^2/4) / 2), taken in logs.
    xt, st, at = x[tail], s[tail], a[tail]
    log_common = -0.5 * (xt * xt / (st * st) + 0.25 * st * st)
    diff = erfcx(-at * _SQRT_HALF) - erfcx((st - at) * _SQRT_HALF)
    out[tail] = np.log(0.5) + log_common + np.log(diff)
    return out


def _initial_guess(x: np.ndarray, log_target: np.ndarray) -> np.ndarray:
    """A start close to the root: the small-s asymptote below the inflection point s_c, the
    at-the-money formula above it."""
    s_c = np.sqrt(-2.0 * x)
    with np.errstate(divide="ignore", invalid="ignore"):
        # at s_c, a = 0: b_c = e^(x/2) / 2 - e^(-x/2) N(-s_c)
        log_b_c = np.log(0.5 * np.exp(0.5 * x) - np.exp(-0.5 * x) * ndtr(-s_c))
        guess = np.empty_like(x)
        below = log_target < log_b_c
        # ln b ~ -x^2 / (2 s^2) below s_c: match the change from the inflection point
        lb, xb = log_target[below], x[below]
        guess[below] = 1.0 / np.sqrt(
            1.0 / (s_c[below] ** 2) + 2.0 * (log_b_c[below] - lb) / (xb * xb)
        )
        # above: b = 2 N(s/2) - 1, scaled to the OTM upper bound e^(x/2)
        above = ~below
        share = np.clip(np.exp(log_target[above] - 0.5 * x[above]), 0.0, 1.0 - 1e-16)
        guess[above] = np.maximum(2.0 * ndtri(0.5 * (1.0 + share)), s_c[above])
    bad = ~(np.isfinite(guess) & (guess > 0))
    guess[bad] = np.maximum(s_c[bad], 0.1)
    return guess


def _solve(x: np.ndarray, log_target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """s with ln b(x, s) = log_target; returns (s, converged). Working arrays hold only the
    rows still iterating, compacted as rows converge."""
    n = len(x)
    result = np.full(n, np.nan)
    done = np.zeros(n, dtype=bool)
    rows = np.arange(n)
    xa, ta = x, log_target
    sa = _initial_guess(x, log_target)
    lo, hi = np.zeros(n), np.full(n, np.inf)
    for _ in range(MAX_ITERATIONS):
        if not len(rows):
            break
        f = _log_b(xa, sa) - ta
        # f' = b'/b with b'(s) = exp(-(x^2/s^2 + s^2/4) / 2) / sqrt(2 pi)
        ratio = np.exp(-0.5 * (xa * xa / (sa * sa) + 0.25 * sa * sa) - _LOG_SQRT_2PI - (f + ta))
        curvature = ratio * (xa * xa / sa**3 - 0.25 * sa) - ratio * ratio  # f''
        newton = f / ratio
        # Halley's correction, clipped: far from the root it must not shrink the step to nothing
        step = newton / np.clip(1.0 - 0.5 * newton * curvature / ratio, 0.5, 2.0)
        above = f > 0
        np.copyto(hi, sa, where=above & (sa < hi))
        np.copyto(lo, sa, where=~above & (sa > lo))
        new = sa - step
        outside = ~np.isfinite(new) | (new < lo) | (new > hi)
        if outside.any():
            new[outside] = np.where(
                np.isfinite(hi[outside]), 0.5 * (lo[outside] + hi[outside]), 2.0 * sa[outside]
            )
        on_root = np.abs(f) <= 1e-14  # ln price matches to 1e-14: the price to 14 digits
        new[on_root] = sa[on_root]  # already there: a bracket step would only move away
        # Halley converges cubically: after a step below 1e-5 s the error is ~1e-15 s, so the
        # stepped value is accepted without evaluating it again. (The clipped correction keeps
        # every step at least half the Newton step, so a small step does mean a small f / f'.)
        small_step = (np.abs(new - sa) <= 1e-5 * sa) & ~outside
        converged = on_root | small_step | ((hi - lo) <= 1e-14 * sa)
        if converged.any():
            result[rows[converged]] = new[converged]
            done[rows[converged]] = True
            keep = ~converged
            rows, xa, ta, sa, lo, hi = rows[keep], xa[keep], ta[keep], new[keep], lo[keep], hi[keep]
        else:
            sa = new
    return result, done


def implied_vol(price, forward, strike, years, discount, is_call) -> ImpliedVol:
    """Black implied volatility from a discounted option price on a forward."""
    p, f, k, t, df = np.broadcast_arrays(
        *(np.asarray(v, dtype=float) for v in (price, forward, strike, years, discount))
    )
    call = np.broadcast_to(np.asarray(is_call, dtype=bool), p.shape)
    n = p.size
    p, f, k, t, df, call = (a.reshape(-1) for a in (p, f, k, t, df, call))
    vol = np.full(n, np.nan)
    reason = np.full(n, IVReason.OK, dtype=np.int8)
    with np.errstate(all="ignore"):
        valid = np.isfinite(p) & np.isfinite(f) & np.isfinite(k) & np.isfinite(t) & np.isfinite(df)
        valid &= (p >= 0) & (f > 0) & (k > 0) & (t > 0) & (df > 0)
        reason[~valid] = IVReason.INVALID_INPUT
        undiscounted = p / df
        intrinsic = np.where(call, np.maximum(f - k, 0.0), np.maximum(k - f, 0.0))
        upper = np.where(call, f, k)
        time_value = undiscounted - intrinsic  # the OTM option's price, by parity
        # Rounding scale of the time value: the price itself, and for an in-the-money option the
        # parity subtraction at the scale of forward and strike (out of the money there is none).
        scale = np.maximum(undiscounted, np.where(intrinsic > 0, np.maximum(f, k), 0.0))
        tolerance = 8.0 * EPSILON * scale
        below = valid & (time_value < -tolerance)
        reason[below] = IVReason.BELOW_INTRINSIC
        above = valid & ~below & (undiscounted >= upper)
        reason[above] = IVReason.ABOVE_UPPER_BOUND
        tiny = valid & ~below & ~above & (time_value <= tolerance)
        reason[tiny] = IVReason.BELOW_RESOLUTION
        solve = np.flatnonzero(valid & ~below & ~above & ~tiny)
        x = -np.abs(np.log(f[solve] / k[solve]))
        log_target = np.log(time_value[solve]) - 0.5 * np.log(f[solve] * k[solve])
        s, converged = _solve(x, log_target)
        root_t = np.sqrt(t[solve])
        vol[solve] = np.where(converged, s / root_t, np.nan)
        # d ln b / ds at the root, and the price's rounding seen through it
        slope = np.exp(-0.5 * (x * x / (s * s) + 0.25 * s * s) - _LOG_SQRT_2PI - log_target)
        uncertainty = np.full(n, np.nan)
        uncertainty[solve] = 4.0 * EPSILON * scale[solve] / time_value[solve] / (slope * root_t)
    reason[solve[~converged]] = IVReason.NO_CONVERGENCE
    vague = np.zeros(n, dtype=bool)
    vague[solve] = converged & (uncertainty[solve] > MAX_RELATIVE_UNCERTAINTY * vol[solve])
    reason[vague] = IVReason.BELOW_RESOLUTION
    vol[vague] = np.nan
    shape = np.shape(
        np.broadcast_arrays(*(np.asarray(v) for v in (price, forward, strike, years, discount)))[0]
    )
    return ImpliedVol(vol.reshape(shape), reason.reshape(shape), uncertainty.reshape(shape))


def implied_vol_bsm(price, spot, strike, years, rate, dividend, is_call) -> ImpliedVol:
    """Implied volatility from spot, rate and dividend yield (European)."""
    t = np.asarray(years, dtype=float)
    forward = np.asarray(spot, dtype=float) * np.exp((np.asarray(rate) - np.asarray(dividend)) * t)
    return implied_vol(price, forward, strike, t, np.exp(-np.asarray(rate) * t), is_call)
