"""Adapter for iVolatility's end-of-day 'Raw IV' CSV (the bundled real SPX week).

The format's dirt, normalised here: `iv = -1` means unknown (-> NaN); `isinterpolated = *` marks
rows whose IV and greeks the vendor filled in; zero bids are kept (rules decide); pre-2015 AM
monthlies carry the Saturday date in the symbol but expire on the Friday in
`option_expiration`; vega and rho come per 1.00 of vol/rate and become per 1 point.
"""

from __future__ import annotations

import csv
import gzip
from collections import defaultdict
from datetime import datetime
from pathlib import Path

import numpy as np

from rulesengine.data.chain import COLUMNS, Bars, Chain, enum_code, to_seconds

HEADER = ("symbol", "exchange", "company_name", "date", "stock_price_close", "option_symbol")
AM_SETTLED_ROOTS = {"SPX"}

# normalised column: (vendor column, scale). Vega and rho come per 1.00 of vol or rate.
NUMBERS = {
    "bid": ("bid", 1.0),
    "ask": ("ask", 1.0),
    "last": ("mean_price", 1.0),  # no last trade in this format: the mid stands in
    "volume": ("volume", 1.0),
    "open_interest": ("open_interest", 1.0),
    "iv": ("iv", 1.0),
    "delta": ("delta", 1.0),
    "gamma": ("gamma", 1.0),
    "theta": ("theta", 1.0),
    "vega": ("vega", 0.01),
    "rho": ("rho", 0.01),
    "underlying_price": ("stock_price_close", 1.0),
    "forward": ("forward_price", 1.0),
}  # the AM-settled SPX monthlies; SPXW and SPXPM settle on the close


def looks_like(header: list[str]) -> bool:
    return tuple(h.strip().lower() for h in header[: len(HEADER)]) == HEADER


def _date(text: str) -> float:
    return to_seconds(datetime.strptime(text.strip(), "%m/%d/%Y").date())


def _number(text: str) -> float:
    text = text.strip()
    if not text:
        return np.nan
    value = float(text)
    return np.nan if value in (-1.0, -999.0) else value


def load(path: Path) -> Chain:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    if not rows:
        raise ValueError(f"{path}: no rows")
    out: dict[str, list] = {name: [] for name in COLUMNS}
    for row in rows:
        root = row["option_symbol"][:6].strip()
        out["underlying_symbol"].append(row["symbol"].strip())
        out["root"].append(root)
        out["symbol"].append(row["option_symbol"])
        out["type"].append(
            enum_code("option_type", "call" if row["call/put"].strip() == "C" else "put")
        )
        out["style"].append(
            enum_code("style", "american" if row["style"].strip() == "A" else "european")
        )
        out["settlement"].append(
            enum_code("settlement", "am" if root in AM_SETTLED_ROOTS else "pm")
        )
        out["strike"].append(float(row["strike"]))
        out["expiry"].append(_date(row["option_expiration"]))
        out["quote_date"].append(_date(row["date"]))
        for column, (vendor, scale) in NUMBERS.items():
            out[column].append(_number(row[vendor]) * scale)
        out["interpolated"].append(row["isinterpolated"].strip() == "*")
        out["multiplier"].append(100.0)
        out["quote_age"].append(0.0)  # end-of-day quotes are as of the close they describe
    columns = {name: np.asarray(values, dtype=COLUMNS[name]) for name, values in out.items()}
    return Chain(columns, _bars(columns), str(path))


def _bars(columns: dict[str, np.ndarray]) -> dict[str, Bars]:
    """Daily closes of each underlying, taken from the chain's own quote dates."""
    closes: dict[str, dict[float, float]] = defaultdict(dict)
    for sym, day, price in zip(
        columns["underlying_symbol"],
        columns["quote_date"],
        columns["underlying_price"],
        strict=True,
    ):
        closes[str(sym)][float(day)] = float(price)
    return {sym: Bars.from_closes(by_day) for sym, by_day in closes.items()}
