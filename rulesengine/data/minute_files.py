"""Minute bars (and trade streams, for tick bars) from files, in the shapes traders have them:

- generic CSV: a time column (`timestamp`, `datetime`, `time`, `date` or `ts`) and `open`,
  `high`, `low`, `close`, `volume` (any case), optionally `symbol`/`ticker`. Times are ISO 8601
  (with an offset, or without one meaning New York time) or epoch seconds/ms/ns;
- Databento `ohlcv-1m` CSV: `ts_event` (nanoseconds since the epoch, or ISO with
  `pretty_ts`), prices as 1e-9 fixed-point integers (or decimals with `pretty_px`), `symbol`;
- Polygon-style aggregates: the REST response as JSON (`results` of `t` ms, `o h l c v`,
  `ticker`) or the same fields as CSV columns.

Every shape gives {symbol: MinuteBars} stamped at each minute's start. A row that cannot be read
is skipped and named (file:line); past 1% of rows the file is refused, as chain files are.
"""

from __future__ import annotations

import csv
import gzip
import json
import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import TypeVar

import numpy as np

from rulesengine.data.bars import load_bars
from rulesengine.data.chain import Bars
from rulesengine.data.intraday import NEW_YORK, IntradayStore, MinuteBars, Trades

T = TypeVar("T")
MAX_BAD_SHARE = 0.01
_FRACTION = re.compile(r"\.(\d+)")
TIME_COLUMNS = ("timestamp", "datetime", "time", "date", "ts", "ts_event", "t")
_GENERIC = ("open", "high", "low", "close", "volume")
_POLYGON = ("o", "h", "l", "c", "v")


class MinuteFileError(ValueError):
    """A minute-bar file that cannot be used; the message says what to do."""


def _header(path: Path) -> set[str]:
    try:
        return {h.strip().lower() for h in next(csv.reader(_lines(path)), [])}
    except (OSError, UnicodeDecodeError, EOFError, gzip.BadGzipFile):
        return set()


def looks_like_trades(path: Path) -> bool:
    """A trade stream: a time, a price and a size per row (generic, or Databento `trades`)."""
    names = _header(path)
    return "price" in names and "size" in names and bool(names & set(TIME_COLUMNS))


def looks_intraday(path: Path) -> bool:
    """True for a file of minute bars in one of the known shapes (not daily bars)."""
    if path.suffix == ".json":
        return True
    names = _header(path)
    return (
        "ts_event" in names
        or {"t", "o", "c"} <= names
        or bool(names & {"timestamp", "datetime", "ts"})
    )


def load_minutes(path: str | Path, symbol: str | None = None) -> dict[str, MinuteBars]:
    """Minute bars per symbol; `symbol` names them when the file does not."""
    path = Path(path)
    if not path.is_file():
        raise MinuteFileError(f"{path}: no such file")
    try:
        if path.suffix == ".json":
            return _polygon_json(path, symbol)
        return _csv(path, symbol)
    except (OSError, UnicodeDecodeError, EOFError, gzip.BadGzipFile) as error:
        raise MinuteFileError(f"{path}: cannot be read ({error}); check the file") from None


def _lines(path: Path) -> Iterator[str]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8", newline="") as handle:  # type: ignore[operator]
        yield from handle


def _csv(path: Path, symbol: str | None) -> dict[str, MinuteBars]:
    reader = csv.reader(_lines(path))
    header = [h.strip().lower() for h in next(reader, [])]
    if "ts_event" in header:
        shape, fields, stamp = "databento", _GENERIC, "ts_event"
    elif {"t", "o", "h", "l", "c", "v"} <= set(header):
        shape, fields, stamp = "polygon", _POLYGON, "t"
    else:
        found = [c for c in TIME_COLUMNS if c in header]
        missing = [c for c in _GENERIC if c not in header]
        if not found or missing:
            raise MinuteFileError(
                f"{path}: not a minute-bar file: expected a time column ({', '.join(TIME_COLUMNS)})"
                f" and {', '.join(_GENERIC)}"
                + (f"; missing {', '.join(missing)}" if missing else "")
            )
        shape, fields, stamp = "generic", _GENERIC, found[0]
    rows = _read_rows(path, reader, header, (stamp, shape), fields, symbol)
    if shape == "databento" and rows and _fixed_point([v for _, _, v in rows]):
        rows = [(n, t, [x * 1e-9 for x in v[:4]] + [v[4]]) for n, t, v in rows]
    return _grouped(path, rows, symbol)


Row = tuple[str, float, list[float]]  # symbol, epoch seconds, values


def _read_rows(
    path: Path,
    reader: Iterator[list[str]],
    header: list[str],
    time_column: tuple[str, str],
    fields: tuple[str, ...],
    symbol: str | None,
) -> list[Row]:
    """Every readable row as (symbol, time, values of `fields`); unreadable rows are named
    by line and past 1% refuse the file. `time_column` is (name, file shape)."""
    stamp, shape = time_column
    at = {name: header.index(name) for name in (stamp, *fields)}
    name_at = next((header.index(c) for c in ("symbol", "ticker") if c in header), None)
    rows: list[Row] = []
    bad: list[str] = []
    total = 0
    for line_number, row in enumerate(reader, start=2):
        if not row or not any(cell.strip() for cell in row):
            continue
        total += 1
        try:
            when = _time(row[at[stamp]], shape)
            values = [float(row[at[f]]) for f in fields]
            name = row[name_at].strip() if name_at is not None else (symbol or "")
        except (ValueError, IndexError) as error:
            bad.append(f"{path}:{line_number}: {error}")
            continue
        rows.append((name, when, values))
    _check_bad(path, bad, total)
    return rows


def _check_bad(path: Path, bad: list[str], total: int) -> None:
    if bad and len(bad) > MAX_BAD_SHARE * max(total, 1):
        shown = "; ".join(bad[:3])
        raise MinuteFileError(
            f"{path}: {len(bad)} of {total} rows cannot be read (more than 1%): {shown}"
        )


def _fixed_point(values: list[list[float]]) -> bool:
    """Databento without pretty_px: integer prices in units of 1e-9."""
    closes = np.array([v[3] for v in values])
    return bool(np.all(closes == np.round(closes)) and np.median(np.abs(closes)) > 1e6)


def _time(text: str, shape: str) -> float:
    text = text.strip()
    try:
        number = float(text)
    except ValueError:
        number = None
    if number is not None:
        if shape == "polygon":
            return number / 1e3  # milliseconds
        if shape == "databento" or number > 1e17:
            return number / 1e9  # nanoseconds
        return number / 1e3 if number > 1e11 else number
    iso = text.replace("Z", "+00:00")
    fraction = _FRACTION.search(iso)
    if fraction and len(fraction.group(1)) > 6:  # nanoseconds: Python reads microseconds
        iso = iso[: fraction.start(1)] + fraction.group(1)[:6] + iso[fraction.end(1) :]
    when = datetime.fromisoformat(iso)
    if when.tzinfo is None:
        when = when.replace(tzinfo=NEW_YORK)
    return when.timestamp()


def _polygon_json(path: Path, symbol: str | None) -> dict[str, MinuteBars]:
    try:
        body = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise MinuteFileError(f"{path}: not JSON ({error})") from None
    results = body.get("results") if isinstance(body, dict) else None
    if not isinstance(results, list):
        raise MinuteFileError(f"{path}: expected a Polygon aggregates response with `results`")
    name = symbol or str(body.get("ticker") or "")
    rows, bad = [], []
    for i, bar in enumerate(results):
        try:
            values = [float(bar[k]) for k in _POLYGON]
            rows.append((name, float(bar["t"]) / 1e3, values))
        except (KeyError, TypeError, ValueError) as error:
            bad.append(f"{path}: results[{i}]: {error}")
    _check_bad(path, bad, len(results))
    return _grouped(path, rows, symbol)


def _grouped(
    path: Path, rows: list[tuple[str, float, list[float]]], symbol: str | None
) -> dict[str, MinuteBars]:
    if not rows:
        raise MinuteFileError(f"{path}: no minute bars in the file")
    if any(not name for name, _, _ in rows):
        raise MinuteFileError(f"{path}: the file names no symbol: give it, e.g. --bars SPX={path}")
    out: dict[str, MinuteBars] = {}
    for name in sorted({n for n, _, _ in rows}):
        mine = [(t, v) for n, t, v in rows if n == name]
        stamps = np.array([t for t, _ in mine])
        table = np.array([v for _, v in mine])
        out[name] = MinuteBars(stamps, *(table[:, i] for i in range(5)))
    return out


def load_trades(path: str | Path, symbol: str | None = None) -> dict[str, Trades]:
    """A trade stream per symbol (for tick bars): a generic CSV (`timestamp`, `price`, `size`,
    optionally `symbol`) or Databento's `trades` CSV (nanosecond `ts_event`, fixed-point or
    pretty prices)."""
    path = Path(path)
    reader = csv.reader(_lines(path))
    header = [h.strip().lower() for h in next(reader, [])]
    stamp = "ts_event" if "ts_event" in header else next(c for c in TIME_COLUMNS if c in header)
    shape = "databento" if stamp == "ts_event" else "generic"
    rows = _read_rows(path, reader, header, (stamp, shape), ("price", "size"), symbol)
    if not rows:
        raise MinuteFileError(f"{path}: no trades in the file")
    if shape == "databento" and _fixed_point([[0, 0, 0, v[0]] for _, _, v in rows]):
        rows = [(n, t, [v[0] * 1e-9, v[1]]) for n, t, v in rows]
    out: dict[str, Trades] = {}
    for name in sorted({n for n, _, _ in rows}):
        if not name:
            raise MinuteFileError(
                f"{path}: the file names no symbol: give it, e.g. --bars SPX={path}"
            )
        mine = sorted((t, v) for n, t, v in rows if n == name)
        table = np.array([v for _, v in mine])
        out[name] = Trades(np.array([t for t, _ in mine]), table[:, 0], table[:, 1])
    return out


def load_bar_sources(sources: dict[str, str]) -> tuple[dict[str, Bars], IntradayStore]:
    """`--bars SYMBOL=SOURCE` entries: daily bars (`arch:sp500`, `bokeh:AAPL`, a daily CSV)
    and minute-bar files, told apart by their columns. BarsError or MinuteFileError say what
    is wrong with which."""
    daily: dict[str, Bars] = {}
    store = IntradayStore()
    for symbol, where in sources.items():
        if Path(where).is_file() and looks_like_trades(Path(where)):
            store.trades[symbol] = _one_symbol(load_trades(where, symbol), symbol, where, "trades")
        elif Path(where).is_file() and looks_intraday(Path(where)):
            found = load_minutes(where, symbol)
            store.minutes[symbol] = _one_symbol(found, symbol, where, "minute bars")
        else:
            daily[symbol] = load_bars(where)
    return daily, store


def _one_symbol(found: dict[str, T], symbol: str, where: str, what: str) -> T:
    """The symbol's series in a file (or the file's only one, whatever it calls it)."""
    if symbol in found:
        return found[symbol]
    if len(found) == 1:
        return next(iter(found.values()))
    raise MinuteFileError(f"{where}: no {what} of {symbol} (it has {', '.join(sorted(found))})")
