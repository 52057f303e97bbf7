"""Reading a chain CSV row by row, with the stated rules for dirt that adapters share.

- A row that cannot be read (too few fields, a number or date that does not parse, a call/put
  or style code that is not one of the known spellings, an underlying price that is not a
  positive finite price) is skipped with a warning naming the file and line. When more than
  1% of the rows (and more than one row) are bad, the whole file is refused: it is not the
  format the adapter expects, or it is damaged.
- A compressed file that ends early (a truncated download) is refused: its last quote date
  would be silently incomplete.
- Duplicate contract rows (the same symbol on the same quote date): the first row in the file
  wins; each later one is dropped with a warning naming the contract and both lines, so a
  limit price and a fill can never come from two different rows.
- Expiries written as Saturdays (pre-2015 monthlies, the AAPL-style chains) become the Friday
  before, the last trading day, as the SPX adapter already reads them.
"""

from __future__ import annotations

import csv
import gzip
import zlib
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path

import numpy as np

from rulesengine.data.chain import DAY, from_seconds

MAX_BAD_SHARE = 0.01
CALL_PUT = {"c": "call", "call": "call", "p": "put", "put": "put"}
MAX_FIELD = 1 << 20  # a field of a megabyte is not a quote


class ChainFileError(Exception):
    """A chain file that can't be read; the message says what to do."""


class BadRow(ValueError):
    """One row's problem; the reader skips the row and says why."""


class RowReader:
    """Rows of a CSV (plain or .gz) as (line number, {column: text}), skipping bad ones."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.warnings: list[str] = []
        self.bad = 0
        self.read = 0

    def header(self) -> list[str]:
        """The column names (an unreadable file gives none: rows() then says why)."""
        opener = gzip.open if self.path.suffix == ".gz" else open
        try:
            with opener(self.path, "rt", encoding="utf-8", newline="") as handle:
                return [h.strip() for h in next(csv.reader(handle), [])]
        except (OSError, EOFError, UnicodeDecodeError, csv.Error, zlib.error):
            return []

    def rows(self) -> Iterator[tuple[int, dict[str, str]]]:
        csv.field_size_limit(MAX_FIELD)
        opener = gzip.open if self.path.suffix == ".gz" else open
        line = 1
        try:
            with opener(self.path, "rt", encoding="utf-8", newline="") as handle:
                reader = csv.reader(handle)
                header = [h.strip() for h in next(reader, [])]
                for fields in reader:
                    line = reader.line_num
                    if not fields:
                        continue
                    self.read += 1
                    if len(fields) < len(header):
                        self.skip(line, f"{len(fields)} fields where the header has {len(header)}")
                        continue
                    yield line, dict(zip(header, fields, strict=False))
        except (EOFError, gzip.BadGzipFile, zlib.error) as error:
            raise ChainFileError(
                f"{self.path}: the compressed data ends early after line {line} ({error}); "
                "the file is truncated or damaged: download or copy it again"
            ) from None
        except csv.Error as error:
            raise ChainFileError(f"{self.path}:{line}: not a readable CSV ({error})") from None

    def skip(self, line: int, why: str) -> None:
        self.bad += 1
        self.warnings.append(f"{self.path}:{line}: {why}; row skipped")

    def finish(self) -> None:
        """Refuse the file when too many rows were bad (see the module's rules)."""
        if self.read == 0 or self.bad == self.read:
            raise ChainFileError(f"{self.path}: no readable rows" + _first(self.warnings))
        if self.bad > 1 and self.bad > MAX_BAD_SHARE * self.read:
            raise ChainFileError(
                f"{self.path}: {self.bad} of {self.read} rows can't be read (more than "
                f"{MAX_BAD_SHARE:.0%}); is this the right format?" + _first(self.warnings)
            )


def load_columns(
    path: Path, parse: Callable[[dict[str, str]], dict[str, object]], dtypes: dict[str, str]
) -> tuple[dict[str, np.ndarray], list[str]]:
    """Every readable row through `parse` (which raises BadRow for a bad one), as columns of
    `dtypes`, duplicates resolved; with the warnings of everything skipped or dropped."""
    reader = RowReader(path)
    out: dict[str, list] = {name: [] for name in dtypes}
    lines: list[int] = []
    for line, row in reader.rows():
        try:
            values = parse(row)
        except BadRow as problem:
            reader.skip(line, str(problem))
            continue
        except KeyError as missing:
            raise ChainFileError(f"{path}: no column {missing} in the header") from None
        for name, value in values.items():
            out[name].append(value)
        lines.append(line)
    reader.finish()
    columns = {name: np.asarray(values, dtype=dtypes[name]) for name, values in out.items()}
    columns, duplicates = without_duplicates(columns, np.asarray(lines), path)
    return columns, reader.warnings + duplicates


def _first(warnings: list[str]) -> str:
    return f" First: {warnings[0]}" if warnings else ""


def number(text: str, what: str) -> float:
    text = text.strip()
    if not text:
        return np.nan
    try:
        return float(text)
    except ValueError:
        raise BadRow(f"{what} {text[:20]!r} is not a number") from None


def option_type(text: str) -> str:
    kind = CALL_PUT.get(text.strip().lower())
    if kind is None:
        raise BadRow(f"call/put is {text.strip()[:10]!r}, expected C or P")
    return kind


def underlying_price(value: float) -> float:
    if not (np.isfinite(value) and 0 < value <= 10_000_000):
        raise BadRow(f"underlying price {value!r} is not a price")
    return value


def friday_for_saturday(seconds: float) -> float:
    """A Saturday expiry (pre-2015 monthly notation) as its last trading day, the Friday."""
    day = from_seconds(seconds)
    return seconds - DAY if day.weekday() == 5 else seconds


def without_duplicates(
    columns: dict[str, np.ndarray], lines: np.ndarray, path: Path
) -> tuple[dict[str, np.ndarray], list[str]]:
    """Keep the first row of each (quote date or intraday quote time, symbol); warn about the
    others."""
    when = columns.get("quote_time", columns["quote_date"])
    keys = np.char.add(when.astype("U"), columns["symbol"].astype("U"))
    _, first = np.unique(keys, return_index=True)
    if len(first) == len(keys):
        return columns, []
    keep = np.zeros(len(keys), bool)
    keep[first] = True
    first_line = {keys[i]: int(lines[i]) for i in first}
    warnings = [
        f"{path}:{int(lines[i])}: duplicate of line {first_line[keys[i]]} for "
        f"{str(columns['symbol'][i]).strip()} on {_day(columns['quote_date'][i])}; "
        "the first row is kept"
        for i in np.flatnonzero(~keep)
    ]
    return {name: values[keep] for name, values in columns.items()}, warnings


def _day(seconds: float) -> date:
    return from_seconds(float(seconds))
