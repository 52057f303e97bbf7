"""Black-Scholes-Merton in closed form, vectorised over whole chains (float64).

Conventions, used everywhere in the project:
- `years` is calendar time to expiry in years (ACT/365); rates `r` and dividend yield `q` are
  continuously compounded annual rates as fractions (0.05 is 5%).
- delta per $1 of the underlying; gamma per $1; theta per calendar day; vega per 1 volatility
  point (0.01) and rho per 1 rate point (0.01), as traders and brokers quote them.
- vanna is d(delta)/d(vol) per 1 vol point; charm is d(delta)/dt per calendar day.
Never finite differences: every greek is its formula.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import ndtr

_SQRT_2PI = np.sqrt(2.0 * np.pi)
DAYS_PER_YEAR = 365.0


def _pdf(x: np.ndarray) -> np.ndarray:
    return np.exp(-0.5 * x * x) / _SQRT_2PI


@dataclass(frozen=True)
class Greeks:
    price: np.ndarray
    delta: np.ndarray
    gamma: np.ndarray
    theta: np.ndarray
    vega: np.ndarray
    rho: np.ndarray
    vanna: np.ndarray
    charm: np.ndarray


def _setup(spot, strike, years, vol, rate, dividend):
    """Inputs as aligned float arrays, plus vol sqrt(T) and d1."""
    s, k, t, v, r, q = np.broadcast_arrays(
        *(np.asarray(x, dtype=float) for x in (spot, strike, years, vol, rate, dividend))
    )
    sd = v * np.sqrt(t)
    with np.errstate(divide="ignore", invalid="ignore"):
        d1 = (np.log(s / k) + (r - q) * t) / sd + 0.5 * sd
    return s, k, t, v, r, q, sd, d1


def bsm_price(spot, strike, years, vol, rate, dividend, is_call) -> np.ndarray:
    """European option value with continuous dividend yield."""
    s, k, t, _, r, q, sd, d1 = _setup(spot, strike, years, vol, rate, dividend)
    d2 = d1 - sd
    disc_q, disc_r = np.exp(-q * t), np.exp(-r * t)
    sign = np.where(is_call, 1.0, -1.0)
    return sign * (s * disc_q * ndtr(sign * d1) - k * disc_r * ndtr(sign * d2))


def bsm_greeks(spot, strike, years, vol, rate, dividend, is_call) -> Greeks:
    """Price and greeks in one pass, sharing d1, d2, N(d1), N(d2) and n(d1)."""
    s, k, t, v, r, q, sd, d1 = _setup(spot, strike, years, vol, rate, dividend)
    call = np.broadcast_to(np.asarray(is_call, dtype=bool), s.shape)
    sqrt_t = np.sqrt(t)
    with np.errstate(divide="ignore", invalid="ignore"):
        d2 = d1 - sd
        disc_q, disc_r = np.exp(-q * t), np.exp(-r * t)
        sq, kr = s * disc_q, k * disc_r
        cdf1, cdf2 = ndtr(d1), ndtr(d2)
        pdf1 = _pdf(d1)
        # puts through the complements: N(-x) = 1 - N(x)
        n1 = np.where(call, cdf1, cdf1 - 1.0)  # call N(d1), put -N(-d1)
        n2 = np.where(call, cdf2, cdf2 - 1.0)  # call N(d2), put -N(-d2)
        price = sq * n1 - kr * n2
        delta = disc_q * n1
        gamma = disc_q * pdf1 / (s * sd)
        vega_year = sq * pdf1 * sqrt_t
        theta_year = -sq * pdf1 * v / (2.0 * sqrt_t) - r * kr * n2 + q * sq * n1
        rho_year = kr * t * n2
        vanna = -disc_q * pdf1 * d2 / v
        # d(delta)/dt as calendar time passes (the usual charm, minus d(delta)/d(years))
        charm_year = q * disc_q * n1 - disc_q * pdf1 * (2.0 * (r - q) * t - d2 * sd) / (
            2.0 * t * sd
        )
    return Greeks(
        price=price,
        delta=delta,
        gamma=gamma,
        theta=theta_year / DAYS_PER_YEAR,
        vega=vega_year / 100.0,
        rho=rho_year / 100.0,
        vanna=vanna / 100.0,
        charm=charm_year / DAYS_PER_YEAR,
    )


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
