"""SSVI volatility surfaces (Gatheral & Jacquier 2014) and static-arbitrage checks.

Total implied variance w(k, t) at log-moneyness k = ln(K/F):
    w = theta/2 * (1 + rho phi k + sqrt((phi k + rho)^2 + 1 - rho^2)),
with the ATM total variance theta(t) from a mean-reverting variance term structure and the
power-law phi(theta) = eta / (theta^gamma (1 + theta)^(1 - gamma)), which is free of static
arbitrage when theta grows with t and eta (1 + |rho|) <= 2. The defaults are a fit to the real
SPX week (rho -0.54, eta 1.05, gamma 0.5; v0 0.0172, v_inf 0.0547, kappa 4.23).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from itertools import pairwise

import numpy as np


@dataclass(frozen=True)
class SSVI:
    rho: float = -0.54
    eta: float = 1.05
    gamma: float = 0.5
    v0: float = 0.0172  # instantaneous ATM variance
    v_inf: float = 0.0547  # long-run ATM variance
    kappa: float = 4.23  # speed of the term structure
    level: float = 1.0  # scales every total variance (used to anchor to a quoted vol)

    def theta(self, years) -> np.ndarray:
        """ATM total variance: t (v_inf + (v0 - v_inf)(1 - e^(-kappa t)) / (kappa t))."""
        t = np.maximum(np.asarray(years, dtype=float), 1e-8)
        average = self.v_inf + (self.v0 - self.v_inf) * (1.0 - np.exp(-self.kappa * t)) / (
            self.kappa * t
        )
        return self.level * average * t

    def phi(self, theta) -> np.ndarray:
        return self.eta / (theta**self.gamma * (1.0 + theta) ** (1.0 - self.gamma))

    def total_variance(self, k, years) -> np.ndarray:
        theta = self.theta(years)
        p = self.phi(theta)
        k = np.asarray(k, dtype=float)
        return (
            0.5
            * theta
            * (1.0 + self.rho * p * k + np.sqrt((p * k + self.rho) ** 2 + 1.0 - self.rho**2))
        )

    def implied_vol(self, k, years) -> np.ndarray:
        t = np.maximum(np.asarray(years, dtype=float), 1e-8)
        return np.sqrt(self.total_variance(k, t) / t)

    def anchored(self, atm_vol: float, years: float = 30 / 365) -> SSVI:
        """The same surface scaled so the ATM vol at `years` equals `atm_vol` (e.g. VIX/100)."""
        base = replace(self, level=1.0)
        return replace(base, level=atm_vol * atm_vol * years / float(base.theta(years)))

    def no_arbitrage_conditions(self) -> bool:
        """Gatheral-Jacquier's sufficient condition for the power-law phi."""
        return self.eta * (1.0 + abs(self.rho)) <= 2.0 and self.v0 > 0 and self.v_inf > 0


def raw_svi(
    a: float, b: float, rho: float, m: float, sigma: float
) -> Callable[[np.ndarray], np.ndarray]:
    """A raw SVI slice w(k) = a + b (rho (k - m) + sqrt((k - m)^2 + sigma^2))."""

    def w(k):
        k = np.asarray(k, dtype=float)
        return a + b * (rho * (k - m) + np.sqrt((k - m) ** 2 + sigma**2))

    return w


def butterfly_density(
    w: Callable[[np.ndarray], np.ndarray], k: np.ndarray, h: float = 1e-4
) -> np.ndarray:
    """Durrleman's g(k); a slice is free of butterfly arbitrage where g >= 0 (and w > 0).

    g = (1 - k w'/(2w))^2 - w'^2/4 (1/w + 1/4) + w''/2, with w' and w'' by central differences
    (this is a check on a grid, not a pricing path).
    """
    w0 = w(k)
    d1 = (w(k + h) - w(k - h)) / (2 * h)
    d2 = (w(k + h) - 2 * w0 + w(k - h)) / (h * h)
    return (1 - k * d1 / (2 * w0)) ** 2 - d1 * d1 / 4 * (1 / w0 + 0.25) + d2 / 2


@dataclass(frozen=True)
class ArbitrageReport:
    butterfly: list[tuple[float, float, float]]  # (years, k, g) where g < 0
    calendar: list[tuple[float, float, float]]  # (k, earlier years, later years) where w falls

    @property
    def free(self) -> bool:
        return not self.butterfly and not self.calendar


GRID = np.linspace(-1.5, 1.5, 601)  # log-moneyness where the checks look


def _slice(
    w: Callable[[np.ndarray, float], np.ndarray], t: float
) -> Callable[[np.ndarray], np.ndarray]:
    return lambda k: w(k, t)


def check_surface(
    w: Callable[[np.ndarray, float], np.ndarray], expiries, k: np.ndarray = GRID
) -> ArbitrageReport:
    """Butterfly arbitrage on every slice and calendar arbitrage between consecutive slices."""
    butterfly, calendar = [], []
    expiries = sorted(float(t) for t in expiries)
    for t in expiries:
        g = butterfly_density(_slice(w, t), k)
        bad = np.flatnonzero(g < -1e-9)
        butterfly += [(t, float(k[i]), float(g[i])) for i in bad[:3]]
    for earlier, later in pairwise(expiries):
        falls = np.flatnonzero(w(k, later) < w(k, earlier) - 1e-12)
        calendar += [(float(k[i]), earlier, later) for i in falls[:3]]
    return ArbitrageReport(butterfly, calendar)
