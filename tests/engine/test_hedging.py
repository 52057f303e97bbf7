"""`hedge:` through the engine and the paper account: a long straddle kept delta-neutral with
shares, the hedges part of the position, everything reconciled to the cent."""

from __future__ import annotations

import csv
import sqlite3
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from brokers.model import Fill
from rulesengine.cli.main import main
from rulesengine.engine.hedge_book import HedgeState, hedge_of, record_fills
from rulesengine.engine.positions import Position
from tests.conftest import checked

PACK = Path(__file__).resolve().parents[2] / "rules" / "packs" / "gamma_scalping"
SPAN = "synthetic:2016-01-01:2016-03-31:0:XYZ"


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("gamma")
    assert main(["backtest", str(PACK), "--data", SPAN, "--out", str(out)]) == 0
    return out


def rows(db: Path, sql: str) -> list[sqlite3.Row]:
    con = sqlite3.connect(db)
    con.row_factory = sqlite3.Row
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_hedges_bring_the_delta_back_with_the_numbers_in_the_reason(run):
    hedges = rows(run / "journal.sqlite", "SELECT * FROM decisions WHERE kind='hedge'")
    rebalances = [h for h in hedges if "outside [-20, 20]" in h["reason"]]
    flattens = [h for h in hedges if "flatten the hedge" in h["reason"]]
    assert rebalances and flattens
    assert all(h["outcome"] == "hedging" for h in hedges)
    first = rebalances[0]["reason"]  # e.g. `delta -23.4 outside [-20, 20]: buy 23 XYZ (to 0)`
    delta = float(first.split()[1])
    shares = int(first.split(": ")[1].split()[1])
    assert abs(delta) > 20 and shares == round(abs(delta))
    orders = rows(run / "journal.sqlite", "SELECT * FROM orders WHERE purpose='hedge'")
    assert orders and all(o["status"] == "filled" for o in orders)


def test_a_closed_hedged_position_realises_its_options_and_its_hedges_to_the_cent(run):
    db = run / "journal.sqlite"
    closed = rows(db, "SELECT * FROM positions WHERE status='closed'")
    assert closed
    hedged = 0
    for p in closed:
        fills = rows(
            db,
            "SELECT f.symbol, f.quantity, f.price, f.fees FROM fills f JOIN orders o "
            f"ON f.order_key = o.key WHERE o.position_id = '{p['id']}'",
        )
        cash = sum(-f["quantity"] * float(f["price"]) * (100 if len(f["symbol"]) > 6 else 1)
                   - float(f["fees"]) for f in fills)  # fmt: skip
        assert p["realised_pnl"] == pytest.approx(cash, abs=0.005), p["id"]
        hedged += any(len(f["symbol"]) <= 6 for f in fills)
    assert hedged >= 2  # the hedges' shares were bought and sold inside the positions


def test_the_account_reconciles_every_day_with_hedges_held(run):
    with (run / "equity.csv").open() as handle:
        days = list(csv.DictReader(handle))
    for day in days:
        parts = 50_000 + float(day["realised_pnl"]) + float(day["unrealised_pnl"])
        assert float(day["net_liq"]) == pytest.approx(parts, abs=0.005), day["date"]


HEDGED = """
strategy: g
universe: [XYZ]
legs:
  call: buy call where delta between 0.4 and 0.6
exit:
  stop: pnl <= -100
"""


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ("hedge:\n  delta: around zero\n", "hedge.delta: 'around zero' is not a band"),
        ("hedge:\n  delta: between -10 and 10\n  to: 15\n", "hedge.to: 15 is outside the band"),
        ("hedge:\n  delta: between -10 and 10\n  every: often\n", "'often' is not a duration"),
    ],
)
def test_a_hedge_section_that_cannot_work_says_why(section, message):
    (d,) = checked(HEDGED + section).diagnostics
    assert d.code == "E011" and message in d.message


def test_a_hedge_band_is_read_with_its_middle_as_the_default_target():
    program = checked(HEDGED + "hedge:\n  delta: between 10 and -30\n  every: 15m\n").program
    assert program.hedge == {"low": -30.0, "high": 10.0, "to": -10.0, "every": 900.0}


def test_hedge_in_a_portfolio_file_is_refused():
    (d,) = checked("portfolio: r\nhedge:\n  delta: between -1 and 1\n").diagnostics
    assert d.code == "E011" and "belongs in a strategy file" in d.message


T = datetime(2016, 1, 4, 15, 45, tzinfo=UTC)


@given(st.lists(st.lists(st.tuples(st.integers(-50, 50), st.integers(5_000, 15_000)),
                         max_size=4), max_size=5))  # fmt: skip
def test_hedge_fills_are_counted_once_whatever_the_broker_reports_again(orders):
    p = Position("p-1", "g", "v", "XYZ", [], T, "k")
    expected = HedgeState()
    for n, fills in enumerate(orders):
        made = [Fill(f"o{n}", "XYZ", q, Decimal(c) / 100, T, Decimal("0.01")) for q, c in fills]
        for seen in range(len(made) + 1):  # the order's fills as each sync reports them
            record_fills(p, f"key-{n}", made[:seen])
        record_fills(p, f"key-{n}", made)  # and once more after it is final
        expected = HedgeState(
            expected.shares + sum(f.quantity for f in made),
            expected.cash - sum(f.quantity * float(f.price) for f in made),
            expected.fees + 0.01 * len(made),
        )
    got = hedge_of(p)
    assert got.shares == expected.shares
    assert got.cash == pytest.approx(expected.cash, abs=1e-6)
    assert got.fees == pytest.approx(expected.fees, abs=1e-6)
