"""The project's own CSV: exactly the normalised columns (dates ISO, enums by name)."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import numpy as np

from rulesengine.check.names import ENUMS
from rulesengine.data.chain import COLUMNS, Chain, from_seconds, to_seconds

_ENUM_COLUMNS = {"type": "option_type", "style": "style", "settlement": "settlement"}
_DATE_COLUMNS = {"expiry", "quote_date"}


def looks_like(header: list[str]) -> bool:
    return set(COLUMNS) <= {h.strip() for h in header}


def load(path: Path) -> Chain:
    with open(path, encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    columns = {}
    for name, dtype in COLUMNS.items():
        values = [row[name] for row in rows]
        if name in _ENUM_COLUMNS:
            members = ENUMS[_ENUM_COLUMNS[name]]
            columns[name] = np.array([members.index(v.strip().lower()) for v in values], dtype="i1")
        elif name in _DATE_COLUMNS:
            columns[name] = np.array([to_seconds(date.fromisoformat(v)) for v in values])
        elif dtype == "?":
            columns[name] = np.array([v.strip().lower() in {"1", "true", "yes"} for v in values])
        elif dtype == "U":
            columns[name] = np.array(values, dtype="U")
        else:
            columns[name] = np.array([float(v) if v.strip() else np.nan for v in values])
    return Chain(columns, {}, str(path))


def save(chain: Chain, path: Path) -> None:
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        for i in range(len(chain)):
            row = []
            for name in COLUMNS:
                value = chain.columns[name][i]
                if name in _ENUM_COLUMNS:
                    row.append(ENUMS[_ENUM_COLUMNS[name]][int(value)])
                elif name in _DATE_COLUMNS:
                    row.append(from_seconds(float(value)).isoformat())
                else:
                    row.append("" if isinstance(value, float) and np.isnan(value) else value)
            writer.writerow(row)
