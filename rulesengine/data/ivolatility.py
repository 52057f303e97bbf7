"""Adapter for iVolatility's end-of-day 'Raw IV' CSV (the bundled real SPX week).

The format's dirt, normalised here: `iv = -1` means unknown (-> NaN); `isinterpolated = *` marks
rows whose IV and greeks the vendor filled in; zero bids are kept (rules decide); pre-2015 AM
monthlies carry the Saturday date in the symbol but expire on the Friday in
`option_expiration` (where a file writes the Saturday there too, it becomes the Friday); vega
and rho come per 1.00 of vol/rate and become per 1 point. Bad rows, duplicates and truncated
files follow the rules in `data.rows`.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from pathlib import Path

import numpy as np

from rulesengine.data import rows
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


def _number(text: str, what: str) -> float:
    value = rows.number(text, what)
    return np.nan if value in (-1.0, -999.0) else value


def _row(row: dict[str, str]) -> dict[str, object]:
    """One vendor row as normalised values; rows.BadRow says why it can't be read."""
    root = row["option_symbol"][:6].strip()
    try:
        expiry = _date(row["option_expiration"])
        quote_date = _date(row["date"])
    except ValueError:
        raise rows.BadRow(
            f"date {row['date'].strip()!r} or expiry {row['option_expiration'].strip()!r} "
            "is not MM/DD/YYYY"
        ) from None
    style = row["style"].strip().upper()
    if style not in ("A", "E"):
        raise rows.BadRow(f"style is {row['style'].strip()[:10]!r}, expected A or E")
    values: dict[str, object] = {
        "underlying_symbol": row["symbol"].strip(),
        "root": root,
        "symbol": row["option_symbol"],
        "type": enum_code("option_type", rows.option_type(row["call/put"])),
        "style": enum_code("style", "american" if style == "A" else "european"),
        "settlement": enum_code("settlement", "am" if root in AM_SETTLED_ROOTS else "pm"),
        "strike": rows.number(row["strike"], "strike"),
        "expiry": rows.friday_for_saturday(expiry),
        "quote_date": quote_date,
        "interpolated": row["isinterpolated"].strip() == "*",
        "multiplier": 100.0,
        "quote_age": 0.0,  # end-of-day quotes are as of the close they describe
    }
    for column, (vendor, scale) in NUMBERS.items():
        values[column] = _number(row[vendor], vendor) * scale
    rows.underlying_price(float(values["underlying_price"]))  # type: ignore[arg-type]
    return values


def load(path: Path) -> Chain:
    columns, warnings = rows.load_columns(path, _row, COLUMNS)
    chain = Chain(columns, _bars(columns), str(path))
    chain.warnings = warnings
    return chain


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
