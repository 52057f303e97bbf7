"""Risk-free rates by tenor from the US Treasury par yield curve (bundled: 1990-2017).

The file holds daily par yields (bond-equivalent, semiannual) for 1 month to 30 years, some
tenors blank in some years. A rate for (date, years) uses the latest curve on or before that
date, interpolates linearly in tenor over the tenors published that day (flat beyond the
ends), and converts to a continuously compounded rate: r = 2 ln(1 + y / 2).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np

from rulesengine.data.bundled import bundled
from rulesengine.data.chain import from_seconds, to_seconds

TENORS = {
    "1month": 1 / 12, "3month": 0.25, "6month": 0.5, "1year": 1.0, "2year": 2.0, "3year": 3.0,
    "5year": 5.0, "7year": 7.0, "10year": 10.0, "20year": 20.0, "30year": 30.0,
}  # fmt: skip


class RatesError(Exception):
    """No curve covers the date asked for; the message says which dates exist."""


@dataclass(frozen=True)
class YieldCurves:
    dates: np.ndarray  # seconds since epoch, ascending
    tenors: np.ndarray  # years, ascending
    yields: np.ndarray  # (dates, tenors) par yields as fractions, NaN where unpublished

    @classmethod
    def load(cls, path: Path | None = None) -> YieldCurves:
        path = path or bundled("rates", "treasury_curves.csv")
        with open(path, encoding="utf-8", newline="") as handle:
            rows = list(csv.DictReader(handle))
        names = list(TENORS)
        dates = np.array([to_seconds(date.fromisoformat(r["Time Period"][:10])) for r in rows])
        values = np.array([[float(r[n]) if r[n].strip() else np.nan for n in names] for r in rows])
        order = np.argsort(dates, kind="stable")
        return cls(dates[order], np.array([TENORS[n] for n in names]), values[order])

    def rate(self, when, years) -> np.ndarray:
        """Continuously compounded rate for each (date in seconds, years to expiry)."""
        when, years = np.broadcast_arrays(
            np.asarray(when, dtype=float), np.asarray(years, dtype=float)
        )
        index = np.searchsorted(self.dates, when, side="right") - 1
        if (index < 0).any():
            first = from_seconds(float(self.dates[0])).isoformat()
            raise RatesError(f"no Treasury curve before {first}: pass a rate explicitly")
        out = np.empty(when.shape)
        for i in np.unique(index):
            rows = index == i
            published = np.isfinite(self.yields[i])
            par = np.interp(years[rows], self.tenors[published], self.yields[i][published])
            out[rows] = 2.0 * np.log1p(par / 2.0)
        return out
