"""The project's own CSV: exactly the normalised columns (dates ISO, enums by name).

An intraday file adds `quote_time`: when each row was quoted, ISO 8601 (an offset, or New York
time without one). Each distinct quote time is one snapshot of an intraday replay."""

from __future__ import annotations

import csv
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np

from rulesengine.check.names import ENUMS
from rulesengine.data import columnar, rows
from rulesengine.data.chain import COLUMNS, Chain, from_seconds, to_seconds

_NEW_YORK = ZoneInfo("America/New_York")
_ENUM_COLUMNS = {"type": "option_type", "style": "style", "settlement": "settlement"}
_DATE_COLUMNS = {"expiry", "quote_date"}


def looks_like(header: list[str]) -> bool:
    return set(COLUMNS) <= {h.strip() for h in header}


def _value(name: str, text: str) -> object:
    dtype = COLUMNS[name]
    if name in _ENUM_COLUMNS:
        spelled = text.strip().lower()
        if name == "type":
            spelled = rows.option_type(spelled)
        members = ENUMS[_ENUM_COLUMNS[name]]
        if spelled not in members:
            raise rows.BadRow(f"{name} is {text.strip()[:12]!r}, expected one of {members}")
        return members.index(spelled)
    if name in _DATE_COLUMNS:
        try:
            seconds = to_seconds(date.fromisoformat(text.strip()))
        except ValueError:
            raise rows.BadRow(f"{name} {text.strip()[:20]!r} is not an ISO date") from None
        return rows.friday_for_saturday(seconds) if name == "expiry" else seconds
    if dtype == "?":
        return text.strip().lower() in {"1", "true", "yes"}
    if dtype == "U":
        return text
    return rows.number(text, name)


def _row(row: dict[str, str]) -> dict[str, object]:
    values = {name: _value(name, row[name]) for name in COLUMNS}
    rows.underlying_price(float(values["underlying_price"]))  # type: ignore[arg-type]
    return values


def _timed_row(row: dict[str, str]) -> dict[str, object]:
    values = _row(row)
    text = row["quote_time"].strip()
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise rows.BadRow(f"quote_time {text[:32]!r} is not an ISO time") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=_NEW_YORK)
    if to_seconds(when.astimezone(_NEW_YORK).date()) != values["quote_date"]:
        raise rows.BadRow(f"quote_time {text} is not on quote_date")
    values["quote_time"] = when.timestamp()
    return values


def load(path: Path) -> Chain:
    header = rows.RowReader(path).header()
    if "quote_time" in header:
        columns, warnings = rows.load_columns(path, _timed_row, {**COLUMNS, "quote_time": "f8"})
        chain = Chain(columns, {}, str(path))
        chain.warnings = warnings
        return chain
    fast = columnar.load_columns(path)
    if fast is not None:  # every row clean (no duplicates either): pandas' C parser read it
        columns, warnings = fast, []
    else:  # the row reader names every bad row
        columns, warnings = rows.load_columns(path, _row, COLUMNS)
    chain = Chain(columns, {}, str(path))
    chain.warnings = warnings
    return chain


def save(chain: Chain, path: Path) -> None:
    names = [*COLUMNS, *(["quote_time"] if "quote_time" in chain.columns else [])]
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(names)
        for i in range(len(chain)):
            row = []
            for name in names:
                value = chain.columns[name][i]
                if name == "quote_time":
                    row.append(datetime.fromtimestamp(float(value), _NEW_YORK).isoformat())
                elif name in _ENUM_COLUMNS:
                    row.append(ENUMS[_ENUM_COLUMNS[name]][int(value)])
                elif name in _DATE_COLUMNS:
                    row.append(from_seconds(float(value)).isoformat())
                else:
                    row.append("" if isinstance(value, float) and np.isnan(value) else value)
            writer.writerow(row)
