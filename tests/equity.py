"""A backtest's equity curve against its own books: every day's net liq (the paper account's
cash plus its marks) equals starting cash plus the journal's realised and unrealised P&L."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest


def assert_every_day_reconciles(out: Path, cash: float, cent: float = 0.005) -> list[dict]:
    """Check `out/equity.csv` day by day (to the cent by default); returns its rows."""
    with (out / "equity.csv").open() as handle:
        days = list(csv.DictReader(handle))
    assert days, f"{out}: no equity rows"
    for day in days:
        parts = cash + float(day["realised_pnl"]) + float(day["unrealised_pnl"])
        assert float(day["net_liq"]) == pytest.approx(parts, abs=cent), day["date"]
    return days
