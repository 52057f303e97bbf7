"""The normalised CSV read column by column with pandas' C parser: a 2M-row file in seconds and
a few hundred MB, where the row reader takes a minute and gigabytes.

It takes a file only when every row is clean (every line has the header's fields, numbers
parse, enums and dates are known, every underlying price is a price, no contract twice on a
date); anything else returns None and the row reader (data.rows) reads the file instead,
naming each bad row by its line.
Both give the same columns for a clean file (a test compares them).
"""

from __future__ import annotations

import gzip
import zlib
from datetime import date
from pathlib import Path

import numpy as np

from rulesengine.check.names import ENUMS
from rulesengine.data import rows
from rulesengine.data.chain import COLUMNS, DAY, EPOCH

_ENUMS = {"type": "option_type", "style": "style", "settlement": "settlement"}
_TYPE_SPELLINGS = {"p": "put", "c": "call"}
_DATES = ("expiry", "quote_date")
MAX_PRICE = 10_000_000


def load_columns(path: Path) -> dict[str, np.ndarray] | None:
    """The file's columns (before duplicates are resolved), or None: read it row by row."""
    import pandas as pd  # a dependency of exchange-calendars; imported when a file is read

    header = rows.RowReader(path).header()
    if "quote_time" in header or not _fields_agree(path, len(header)):
        return None
    numbers = [n for n, kind in COLUMNS.items() if kind == "f8" and n not in _DATES]
    # few distinct values: categories, so each is parsed and checked once, not once a row
    repeated = ["underlying_symbol", "root", *_ENUMS, *_DATES, "interpolated"]
    try:
        frame = pd.read_csv(
            path,
            usecols=list(COLUMNS),
            dtype={
                **dict.fromkeys(numbers, "float64"),
                **dict.fromkeys(repeated, "category"),
                "symbol": object,
            },
            keep_default_na=False,
            na_values={n: [""] for n in numbers},
            engine="c",
            skipinitialspace=False,
        )
    except (ValueError, OSError, EOFError, gzip.BadGzipFile, zlib.error, pd.errors.ParserError):
        return None
    if frame.duplicated(["quote_date", "symbol"]).any():
        return None  # the row reader names each duplicate's lines
    return _converted(frame)  # takes the frame apart as it goes: one copy at a time


def _fields_agree(path: Path, fields: int) -> bool:
    """Every line has the header's number of fields (a short row is damage the row reader
    names); no quoted fields (their commas would miscount: the row reader reads those)."""
    opener = gzip.open if path.suffix == ".gz" else open
    commas = fields - 1
    try:
        with opener(path, "rt", encoding="utf-8", newline="") as handle:
            next(handle, None)
            for line in handle:
                if (line.count(",") != commas and line.strip()) or '"' in line:
                    return False
    except (OSError, EOFError, UnicodeDecodeError, gzip.BadGzipFile, zlib.error):
        return False
    return True


def _per_category(values, convert) -> np.ndarray | None:
    """`convert` applied to each distinct value of a categorical column, spread to the rows;
    None when a value does not convert (or a row is empty)."""
    codes = values.cat.codes.to_numpy()
    if len(codes) and codes.min() < 0:
        return None
    converted = convert(values.cat.categories)
    return None if converted is None else np.asarray(converted)[codes]


def _converted(frame) -> dict[str, np.ndarray] | None:
    columns: dict[str, np.ndarray] = {}
    for name in ("underlying_symbol", "root"):
        found = _per_category(frame.pop(name), lambda c: np.asarray(c, dtype=str))
        if found is None:
            return None
        columns[name] = found
    symbols = frame.pop("symbol")
    if symbols.isna().any():
        return None
    columns["symbol"] = symbols.to_numpy(dtype=str)
    del symbols
    for name, enum in _ENUMS.items():
        found = _per_category(frame.pop(name), lambda c, e=enum: _codes(c, e))
        if found is None:
            return None
        columns[name] = found.astype("i1")
    for name in _DATES:
        found = _per_category(frame.pop(name), _iso_days)
        if found is None:
            return None
        columns[name] = found
    weekday = ((columns["expiry"] // DAY).astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday
    columns["expiry"] = np.where(weekday == 5, columns["expiry"] - DAY, columns["expiry"])
    for name, kind in COLUMNS.items():
        if kind == "f8" and name not in _DATES:
            columns[name] = frame.pop(name).to_numpy(dtype=float)
    flags = _per_category(
        frame.pop("interpolated"),
        lambda c: np.asarray([str(v).strip().lower() in {"1", "true", "yes"} for v in c]),
    )
    if flags is None:
        return None
    columns["interpolated"] = flags.astype(bool)
    price = columns["underlying_price"]
    with np.errstate(invalid="ignore"):
        if not bool(np.all(np.isfinite(price) & (price > 0) & (price <= MAX_PRICE))):
            return None
    return columns


def _codes(values, enum: str) -> np.ndarray | None:
    """Each spelling's code; None when one is not a member."""
    members = ENUMS[enum]
    out = []
    for value in values:
        spelled = str(value).strip().lower()
        spelled = _TYPE_SPELLINGS.get(spelled, spelled) if enum == "option_type" else spelled
        if spelled not in members:
            return None
        out.append(members.index(spelled))
    return np.asarray(out, dtype="i1")


def _iso_days(values) -> np.ndarray | None:
    """Each ISO date as seconds since 1970; None when one is not a date."""
    try:
        days = [date.fromisoformat(str(v).strip()) for v in values]
    except ValueError:
        return None
    return np.asarray([(d - EPOCH).days * DAY for d in days], dtype=float)
