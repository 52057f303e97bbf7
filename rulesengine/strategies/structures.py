"""Structure fields for many candidates at once: credit, width, max profit/loss, breakevens, POP.

Prices are per share as quoted; max_profit and max_loss are dollars per structure (x multiplier).
A stock leg is treated as a call struck at 0 bought at the underlying price (delta 1); a
future leg likewise at its own price, scaled by its multiplier / 100 (a /MES contract is worth
5 x its price, where an option's prices are per share of 100), so every structure's prices
stay in one convention: per unit, x 100 for dollars.
POP is the probability that the payoff at the first expiry is above zero, with ln S_T normal
around the forward and the volatility of the short legs' IV (all legs' where none is short).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from rulesengine.analytics.bsm import black_price, lognormal_cdf
from rulesengine.data.chain import Chain

STRUCTURE_FIELDS = frozenset(
    {
        "credit",
        "debit",
        "natural_credit",
        "natural_debit",
        "width",
        "max_profit",
        "max_loss",
        "lower_breakeven",
        "upper_breakeven",
        "pop",
        "risk_reward",
        "return_on_risk",
        "net_delta",
        "net_gamma",
        "net_theta",
        "net_vega",
        "min_dte",
        "slippage",
    }
)
MIN_YEARS = 0.25 / 365.0  # an expiring (0 DTE) leg still has about a quarter of a day to run
GRID_POINTS = 241


@dataclass(frozen=True)
class LegShape:
    name: str
    weight: float  # +count bought, -count sold; a stock leg's shares / 100
    kind: str  # 'put' | 'call' | 'stock'


def weight(units: int, kind: str) -> float:
    """A leg's weight in the structure's per-share prices: a contract counts 1 (100 shares'
    worth), a share 1/100."""
    return units / 100 if kind == "stock" else float(units)


def _weighted(values: np.ndarray, w: np.ndarray) -> np.ndarray:
    """(n, k, legs) leg values times the legs' weights: one vector, or one row per structure."""
    return values @ w if w.ndim == 1 else np.einsum("nkl,nl->nk", values, w)


class Structures:
    """Lazily computed structure columns for candidates given by one row index per leg."""

    def __init__(self, chain: Chain, legs: list[LegShape], rows: dict[str, np.ndarray]):
        self.chain, self.legs = chain, legs
        self.n = len(next(iter(rows.values()))) if rows else 0
        self.rows = rows
        self._cache: dict[str, np.ndarray] = {}
        self.w = np.array([leg.weight for leg in legs], dtype=float)
        self.stock = np.array([leg.kind == "stock" for leg in legs])
        self.future = np.array([leg.kind == "future" for leg in legs])
        self.linear = self.stock | self.future  # worth the price itself at expiry
        self.call = np.array([leg.kind in {"call", "stock", "future"} for leg in legs])
        self._scales: np.ndarray | None = None

    def __call__(self, name: str) -> np.ndarray:
        if name not in self._cache:
            self._compute(name)
        return self._cache[name]

    def leg_matrix(self, column: str) -> np.ndarray:
        """(n, legs) matrix of one chain column; stock legs read the underlying instead, and
        future legs' prices and greeks are scaled to the per-share convention."""
        out = np.empty((self.n, len(self.legs)))
        for j, leg in enumerate(self.legs):
            if leg.kind == "stock":
                out[:, j] = self._stock_value(column, leg.name)
            elif leg.kind == "future":
                out[:, j] = self._future_value(column, leg.name)
            else:
                out[:, j] = self.chain.column(column)[self.rows[leg.name]]
        return out

    def scales(self) -> np.ndarray:
        """(n, legs): what one unit of each leg is worth per point of its price, per share of
        100 (1 for options and shares, the multiplier / 100 for futures)."""
        if self._scales is None:
            scales = np.ones((self.n, len(self.legs)))
            for j, leg in enumerate(self.legs):
                if leg.kind == "future":
                    scales[:, j] = self.chain.column("multiplier")[self.rows[leg.name]] / 100
            self._scales = scales
        return self._scales

    def _future_value(self, column: str, leg: str) -> np.ndarray:
        rows = self.rows[leg]
        if column in {"strike", "iv"}:
            return np.full(self.n, 0.0 if column == "strike" else np.nan)
        values = self.chain.column(column)[rows]
        if column in {"bid", "ask", "mid", "last", "delta", "gamma", "theta", "vega", "rho"}:
            return values * self.chain.column("multiplier")[rows] / 100
        return values

    def _stock_value(self, column: str, leg: str) -> np.ndarray:
        price = self.chain.column("underlying_price")[self.rows[leg]]
        constants = {
            "strike": 0.0,
            "delta": 1.0,
            "gamma": 0.0,
            "theta": 0.0,
            "vega": 0.0,
            "iv": np.nan,
        }
        if column in constants:
            return np.full(self.n, constants[column])
        if column in {"bid", "ask", "mid", "last"}:
            return price
        return self.chain.column(column)[self.rows[leg]]

    # ---------------------------------------------------------------- computations
    def _compute(self, name: str) -> None:
        c = self._cache
        if name in {"credit", "debit"}:
            c["credit"] = -(self.leg_matrix("mid") @ self.w)
            c["debit"] = -c["credit"]
        elif name in {"natural_credit", "natural_debit", "slippage"}:
            paid = np.where(self.w > 0, self.leg_matrix("ask"), self.leg_matrix("bid"))
            c["natural_credit"] = -(paid @ self.w)
            c["natural_debit"] = -c["natural_credit"]
            c["slippage"] = self("credit") - c["natural_credit"]
        elif name == "width":
            c["width"] = self._width()
        elif name.startswith("net_"):
            c[name] = self.leg_matrix(name[4:]) @ self.w
        elif name == "min_dte":
            dte = np.where(self.stock, np.inf, self.leg_matrix("dte"))
            c["min_dte"] = dte.min(axis=1) if self.legs else np.zeros(0)
        elif name in {"risk_reward", "return_on_risk"}:
            with np.errstate(all="ignore"):
                c["risk_reward"] = self("max_loss") / self("max_profit")
                c["return_on_risk"] = self("max_profit") / self("max_loss")
        else:
            self._payoff()

    def _width(self) -> np.ndarray:
        strikes = self.leg_matrix("strike")
        width = np.zeros(self.n)
        for is_call in (False, True):
            cols = (self.call == is_call) & ~self.linear
            if cols.sum() >= 2:
                k = strikes[:, cols]
                width = np.maximum(width, k.max(axis=1) - k.min(axis=1))
        return width

    def _payoff(self) -> None:
        # stock legs never expire: only the options' expiries must agree (shares alone: yes)
        expiry = np.where(self.stock, np.inf, self.leg_matrix("expiry"))
        first = expiry.min(axis=1, keepdims=True) if self.n else np.zeros((0, 1))
        same_expiry = (
            np.all((expiry == first) | self.stock, axis=1) if self.n else np.zeros(0, bool)
        )
        out = {
            k: np.full(self.n, np.nan)
            for k in ("max_profit", "max_loss", "lower_breakeven", "upper_breakeven", "pop")
        }
        for mask, method in ((same_expiry, self._exact), (~same_expiry, self._grid)):
            rows = np.flatnonzero(mask)
            if len(rows):
                for key, values in method(rows).items():
                    out[key][rows] = values
        multiplier = self._multiplier()
        out["max_profit"] *= multiplier
        out["max_loss"] *= multiplier
        self._cache.update(out)

    def _multiplier(self) -> np.ndarray:
        for leg in self.legs:
            if leg.kind in {"put", "call"}:
                return self.chain.column("multiplier")[self.rows[leg.name]]
        return np.full(self.n, 100.0)  # shares and futures are already per share of 100

    def _inputs(self, rows: np.ndarray):
        strikes = self.leg_matrix("strike")[rows]
        credit = self("credit")[rows]
        iv = self.leg_matrix("iv")[rows]
        short_options = (self.w < 0) & ~self.linear
        chosen = short_options if short_options.any() else ~self.linear
        picked = np.where(chosen, iv, np.nan)
        counted = np.isfinite(picked).sum(axis=1)
        with np.errstate(all="ignore"):  # shares alone have no volatility: NaN, said once
            vol = np.where(counted > 0, np.nansum(picked, axis=1) / counted, np.nan)
        option_cols = ~self.stock
        dte = (
            self.leg_matrix("dte")[rows][:, option_cols]
            if option_cols.any()
            else np.zeros((len(rows), 1))
        )
        years = np.maximum(dte.min(axis=1), 0.0) / 365.0
        years = np.maximum(years, MIN_YEARS)
        forward = (
            self.leg_matrix("forward")[rows][:, option_cols][:, 0]
            if option_cols.any()
            else self.chain.column("underlying_price")[self.rows[self.legs[0].name]][rows]
        )
        spot = self.chain.column("underlying_price")[self.rows[self.legs[0].name]][rows]
        forward = np.where(np.isfinite(forward), forward, spot)
        # per-row weights only where a future's multiplier varies by row: the common case
        # keeps one weight vector (and the faster matrix product)
        w = self.scales()[rows] * self.w if self.future.any() else self.w
        return strikes, credit, vol, years, forward, w

    @staticmethod
    def _value_at(
        s: np.ndarray, strikes: np.ndarray, credit: np.ndarray, call: np.ndarray, w: np.ndarray
    ) -> np.ndarray:
        """Payoff per share at expiry for prices s of shape (n, k); `w` (n, legs): the legs'
        weights, futures scaled."""
        k = strikes[:, None, :]
        intrinsic = np.where(
            call, np.maximum(s[:, :, None] - k, 0.0), np.maximum(k - s[:, :, None], 0.0)
        )
        return credit[:, None] + _weighted(intrinsic, w)

    def _exact(self, rows: np.ndarray) -> dict[str, np.ndarray]:
        """Same-expiry structures: the payoff is piecewise linear with kinks at the strikes."""
        strikes, credit, vol, years, forward, w = self._inputs(rows)
        points = np.sort(np.concatenate([np.zeros((len(rows), 1)), strikes], axis=1), axis=1)
        values = self._value_at(points, strikes, credit, self.call, w)
        slope = np.broadcast_to(w[..., self.call].sum(axis=-1), len(rows))  # $ per $ above
        max_profit = np.where(slope > 0, np.inf, values.max(axis=1))
        max_loss = np.where(slope < 0, np.inf, np.maximum(-values.min(axis=1), 0.0))
        roots = self._roots(points, values, slope)
        breaks = np.sort(np.concatenate([points, roots], axis=1), axis=1)
        pop = self._probability(breaks, strikes, credit, vol, years, forward, w)
        with warnings.catch_warnings():  # a structure that never breaks even: NaN, not a warning
            warnings.simplefilter("ignore", RuntimeWarning)
            lower, upper = np.nanmin(roots, axis=1), np.nanmax(roots, axis=1)
        return {
            "max_profit": np.broadcast_to(max_profit, len(rows)).astype(float),
            "max_loss": np.broadcast_to(max_loss, len(rows)).astype(float),
            "lower_breakeven": lower,
            "upper_breakeven": upper,
            "pop": pop,
        }

    @staticmethod
    def _roots(points: np.ndarray, values: np.ndarray, slope: np.ndarray) -> np.ndarray:
        a, b = points[:, :-1], points[:, 1:]
        pa, pb = values[:, :-1], values[:, 1:]
        with np.errstate(all="ignore"):
            crossing = (pa * pb < 0) | ((pa == 0) & (pb != 0))
            inner = np.where(crossing, a + (b - a) * pa / (pa - pb), np.nan)
            last, p_last = points[:, -1], values[:, -1]
            tail = np.where(p_last * slope < 0, last - p_last / slope, np.nan)
        return np.concatenate([inner, tail[:, None]], axis=1)

    def _probability(self, breaks, strikes, credit, vol, years, forward, w) -> np.ndarray:
        """P(payoff > 0): the lognormal mass of each interval between breakpoints in profit."""
        lo, hi = breaks[:, :-1], breaks[:, 1:]
        mids = np.where(np.isfinite(hi), (lo + hi) / 2.0, lo)
        in_profit = self._value_at(np.nan_to_num(mids), strikes, credit, self.call, w) > 1e-12
        cdf = lognormal_cdf(
            np.nan_to_num(breaks, nan=np.inf), forward[:, None], vol[:, None], years[:, None]
        )
        mass = np.diff(cdf, axis=1)
        pop = np.sum(np.where(in_profit & np.isfinite(hi), mass, 0.0), axis=1)
        last = np.nanmax(breaks, axis=1)
        above = (last + 1.0)[:, None]
        tail_profit = self._value_at(above, strikes, credit, self.call, w)[:, 0] > 1e-12
        tail_mass = 1.0 - lognormal_cdf(last, forward, vol, years)
        pop = pop + np.where(tail_profit, tail_mass, 0.0)
        return np.where(np.isfinite(vol), np.clip(pop, 0.0, 1.0), np.nan)

    def _grid(self, rows: np.ndarray) -> dict[str, np.ndarray]:
        """Mixed expiries (calendars, diagonals): value later legs with Black-Scholes at the
        first expiry on a price grid, and read extremes, zero crossings and POP off it."""
        strikes, credit, vol, years, forward, w = self._inputs(rows)
        iv = self.leg_matrix("iv")[rows]
        dte = np.where(self.stock, 0.0, self.leg_matrix("dte")[rows])
        remaining = np.maximum(dte - dte[:, ~self.stock].min(axis=1, keepdims=True), 0.0) / 365.0
        sd = np.where(np.isfinite(vol), vol, 0.2) * np.sqrt(years)
        z = np.linspace(-5.0, 5.0, GRID_POINTS)
        s = forward[:, None] * np.exp(sd[:, None] * z[None, :])  # (n, k)
        legs_value = black_price(
            s[:, :, None],
            strikes[:, None, :],
            np.nan_to_num(iv)[:, None, :],
            remaining[:, None, :],
            self.call[None, None, :],
        )
        legs_value = np.where(self.linear[None, None, :], s[:, :, None], legs_value)
        values = credit[:, None] + _weighted(legs_value, w)
        edges = np.concatenate(
            [np.zeros((len(rows), 1)), (s[:, 1:] + s[:, :-1]) / 2, np.full((len(rows), 1), np.inf)],
            axis=1,
        )
        cdf = lognormal_cdf(edges, forward[:, None], vol[:, None], years[:, None])
        pop = np.sum(np.where(values > 0, np.diff(cdf, axis=1), 0.0), axis=1)
        sign_change = np.diff(np.sign(values), axis=1) != 0
        crossing = np.where(sign_change, s[:, :-1], np.nan)
        with np.errstate(all="ignore"):
            lower, upper = np.nanmin(crossing, axis=1), np.nanmax(crossing, axis=1)
        return {
            "max_profit": values.max(axis=1),
            "max_loss": np.maximum(-values.min(axis=1), 0.0),
            "lower_breakeven": lower,
            "upper_breakeven": upper,
            "pop": np.where(np.isfinite(vol), pop, np.nan),
        }
