"""Daily bars in the normalised form (`chain.Bars`), from files and from installed packages.

Sources, named as `kind:name` on the command line:
- `arch:sp500`, `arch:nasdaq`, `arch:vix`: the histories the `arch` package ships (S&P 500 and
  NASDAQ daily OHLCV 1999-2018, VIX closes 2014-2019), read from its data files at run time.
- `bokeh:AAPL` (IBM, MSFT, GOOG, FB): the bundled Quandl WIKI prices, 2000-2013.
- a path to a CSV with `Date, Open, High, Low, Close, Volume` (extra columns ignored).
"""

from __future__ import annotations

import csv
import gzip
import importlib.util
from datetime import date, datetime
from pathlib import Path

import numpy as np

from rulesengine.data.bundled import bundled
from rulesengine.data.chain import Bars, to_seconds

ARCH_SETS = ("sp500", "nasdaq", "vix")


class BarsError(Exception):
    """Bars that can't be loaded; the message says what to do."""


def _date(text: str) -> float:
    text = text.strip()
    try:
        return to_seconds(date.fromisoformat(text[:10]))
    except ValueError:
        return to_seconds(datetime.strptime(text, "%m/%d/%Y").date())


def _number(row: dict, *names: str) -> float:
    for name in names:
        value = (row.get(name) or "").strip()
        if value:
            try:
                return float(value)
            except ValueError:  # arch's VIX file writes '.' on holidays
                return np.nan
    return np.nan


def _from_rows(rows: list[dict]) -> Bars:
    rows = sorted(rows, key=lambda r: _date(r["Date"]))
    columns = {
        "dates": [_date(r["Date"]) for r in rows],
        "open": [_number(r, "Open") for r in rows],
        "high": [_number(r, "High") for r in rows],
        "low": [_number(r, "Low") for r in rows],
        "close": [_number(r, "Close", "vix") for r in rows],
        "volume": [_number(r, "Volume") for r in rows],
    }
    return Bars(**{name: np.asarray(values, dtype=float) for name, values in columns.items()})


def _read(path: Path) -> list[dict]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def load_arch(name: str) -> Bars:
    if name not in ARCH_SETS:
        raise BarsError(f"unknown arch data set '{name}' (known: {', '.join(ARCH_SETS)})")
    spec = importlib.util.find_spec("arch")
    if spec is None or not spec.submodule_search_locations:
        raise BarsError(
            "the S&P 500, NASDAQ and VIX histories come with the `arch` package: pip install arch"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / name / f"{name}.csv.gz"
    if not path.is_file():
        raise BarsError(f"this arch installation has no {name} data at {path}")
    return _from_rows(_read(path))


def load_bokeh(ticker: str, path: Path | None = None) -> Bars:
    rows = [r for r in _read(path or bundled("bars", "stocks.csv.gz")) if r["Ticker"] == ticker]
    if not rows:
        raise BarsError(f"no bokeh bars for '{ticker}' (AAPL, IBM, MSFT, GOOG, FB)")
    return _from_rows(rows)


def load_bars(source: str) -> Bars:
    """Bars from `arch:NAME`, `bokeh:TICKER` or a CSV path."""
    kind, _, name = source.partition(":")
    if kind == "arch" and name:
        return load_arch(name)
    if kind == "bokeh" and name:
        return load_bokeh(name)
    path = Path(source)
    if not path.is_file():
        raise BarsError(f"bars source '{source}' is neither arch:NAME, bokeh:TICKER nor a file")
    try:
        return _from_rows(_read(path))
    except (KeyError, ValueError) as error:
        raise BarsError(
            f"{path}: expected columns Date, Open, High, Low, Close, Volume ({error})"
        ) from None
