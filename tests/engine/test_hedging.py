"""`hedge:` through the engine and the paper account: a long straddle kept delta-neutral with
shares, the hedges part of the position, everything reconciled to the cent."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from brokers.model import Fill
from rulesengine.cli.main import main
from rulesengine.engine.hedge_book import hedge_of, record_fills
from rulesengine.engine.positions import Position
from rulesengine.scenarios.model import load_scenarios
from rulesengine.scenarios.render import render
from rulesengine.scenarios.runner import run_scenario
from tests.conftest import checked
from tests.equity import assert_every_day_reconciles

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
    assert_every_day_reconciles(run, 50_000)


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
    assert program.hedge == {
        "low": -30.0, "high": 10.0, "to": -10.0, "every": 900.0, "using": "underlying"
    }  # fmt: skip


def test_hedge_in_a_portfolio_file_is_refused():
    (d,) = checked("portfolio: r\nhedge:\n  delta: between -1 and 1\n").diagnostics
    assert d.code == "E011" and "belongs in a strategy file" in d.message


T = datetime(2016, 1, 4, 15, 45, tzinfo=UTC)


@given(st.lists(st.lists(st.tuples(st.integers(-50, 50), st.integers(5_000, 15_000)),
                         max_size=4), max_size=5))  # fmt: skip
def test_hedge_fills_are_counted_once_whatever_the_broker_reports_again(orders):
    p = Position("p-1", "g", "v", "XYZ", [], T, "k")
    shares = 0
    cash = fees = 0.0
    for n, fills in enumerate(orders):
        made = [Fill(f"o{n}", "XYZ", q, Decimal(c) / 100, T, Decimal("0.01")) for q, c in fills]
        for seen in range(len(made) + 1):  # the order's fills as each sync reports them
            record_fills(p, f"key-{n}", made[:seen])
        record_fills(p, f"key-{n}", made)  # and once more after it is final
        shares += sum(f.quantity for f in made)
        cash -= sum(f.quantity * float(f.price) for f in made)
        fees += 0.01 * len(made)
    got = hedge_of(p)
    assert got.held.get("XYZ", 0) == shares and got.delta == shares
    assert got.flat == (shares == 0)
    assert got.cash == pytest.approx(cash, abs=1e-6)
    assert got.fees == pytest.approx(fees, abs=1e-6)


def test_a_futures_hedge_counts_its_multiplier_in_delta_and_money():
    p = Position("p-1", "g", "v", "SPX", [], T, "k")
    sold = Fill("o", "/MESH18", -3, Decimal("2700.25"), T, Decimal("3.66"))
    state = record_fills(p, "k1", [sold])
    assert state.held == {"/MESH18": -3} and state.delta == -15  # 3 x 5 units of the index
    assert state.cash == pytest.approx(3 * 2700.25 * 5)  # sold: the notional came in


CALL_HEDGED_WITH_MES = """
strategy: call_hedged
universe: [SPX, /MES]
legs:
  long: buy call where underlying_symbol == 'SPX' and dte between 30 and 60
        and delta between 0.40 and 0.60 and ask > 0 prefer delta nearest 0.50
size:
  contracts: 1
exit:
  stop: pnl <= -5000
hedge:
  delta: between -10 and 10
  using: /MES
limits:
  max_positions: 1
"""
MARGIN = "portfolio: r\npaper:\n  cash: 100000\n  margin: margin\n"


def with_mes(chain):
    """The SPX snapshot and a synthetic /MES futures snapshot of the same day, as one market."""
    from rulesengine.data.bars import load_bars
    from rulesengine.data.chain import COLUMNS, Chain
    from rulesengine.data.synthetic_futures import futures_history

    day = chain.quote_dates()[0]
    mes = futures_history(load_bars("arch:sp500"), "/MES", day, day)
    columns = {n: np.concatenate([chain.columns[n], mes.columns[n]]) for n in COLUMNS}
    return Chain(columns, {**chain.bars, **mes.bars}, source="SPX and /MES")


@pytest.mark.anyio
async def test_an_spx_call_is_hedged_with_micro_futures_and_flattened_on_close(harness):
    h = harness({"call.yaml": CALL_HEDGED_WITH_MES, "risk.yaml": MARGIN})
    for day in range(3):
        await h.day(day, chain=with_mes(h.snapshot(day)))
    hedges = h.decisions("hedge")
    assert hedges, "a 50-delta SPX call is +50 units of the index: outside [-10, 10]"
    first = hedges[0]["reason"]
    assert "outside [-10, 10]: sell" in first and "/MESH11 (to 0)" in first
    delta = float(first.split()[1])
    assert int(first.split(": sell ")[1].split()[0]) == round(delta / 5)  # 5 units a contract
    (p,) = [q for q in h.positions() if q.status == "open"]
    held = hedge_of(p).held
    assert set(held) == {"/MESH11"} and held["/MESH11"] < 0
    mark = h.engine.book.marks[p.id]
    assert abs(mark.delta) <= 10 + 2.5  # back inside the band, to the nearest contract
    assert h.broker.ledger.holdings["/MESH11"].quantity == held["/MESH11"]
    held_p = h.engine.book.positions[p.id]
    held_p.detail["close_requested"] = "by hand, in the test"  # as the API's close does
    h.engine.book.save(held_p)
    for day in (3, 4):
        await h.day(day, chain=with_mes(h.snapshot(day)))
    (done,) = [q for q in h.positions() if q.id == p.id]
    assert done.status == "closed" and "/MESH11" not in h.broker.ledger.holdings
    flattened = [d for d in h.decisions("hedge") if "flatten the hedge" in d["reason"]]
    assert flattened and "/MESH11" in flattened[0]["reason"]
    fills = h.journal.db.execute(
        "SELECT f.symbol, f.quantity, f.price, f.fees FROM fills f JOIN orders o "
        "ON f.order_key = o.key WHERE o.position_id = ?", (p.id,)
    ).fetchall()
    money = sum(-q * float(px) * (5 if sym.startswith("/") else 100) - float(fee)
                for sym, q, px, fee in fills)  # fmt: skip
    assert done.realised_pnl == pytest.approx(money, abs=0.01)  # the call's and the hedge's


AT_THE_CLOSE = """
scenarios:
  - name: hedge_at_the_close
    rules: [gamma_scalp.yaml, risk.yaml]
    market: synthetic-intraday:2018-02-05:2018-02-05:5m:0:SPY
    ticks: ["2018-02-05 16:00"]
    positions:
      - strategy: ultra_gamma
        underlying: SPY
        legs: {call: buy call 262.5 2018-02-16, put: buy put 262.5 2018-02-16}
        quantity: 2
        price: -6.75
"""


def test_a_hedge_due_when_the_market_is_closed_waits_instead_of_being_refused(tmp_path):
    pack = PACK.parent / "ultra_daily_target"
    (tmp_path / "tests").mkdir()
    for name in ("gamma_scalp.yaml", "risk.yaml"):
        (tmp_path / name).write_text((pack / name).read_text())
    file = tmp_path / "tests" / "close.yaml"
    file.write_text(AT_THE_CLOSE)
    (scenario,) = load_scenarios(file)
    out = render(run_scenario(scenario, file))
    (held,) = [line for line in out.splitlines() if line.strip().startswith("hedge call")]
    assert ": held · delta" in held and "market closed for SPY (16:00 is after the 16:00" in held
    assert "orders" not in out  # nothing sent, so nothing refused


@pytest.mark.slow
def test_a_week_of_5_minute_hedging_reconciles_to_the_cent(tmp_path):
    # SPY's model price sits between cents; the hedges print at whole cents, so the account's
    # cash, its marks and the journal's P&L agree to the cent every day
    pack = PACK.parent / "ultra_daily_target"
    spec = "synthetic-intraday:2018-03-01:2018-03-09:5m:0:SPY"
    assert main(["backtest", str(pack), "--data", spec, "--out", str(tmp_path)]) == 0
    prices = rows(tmp_path / "journal.sqlite", "SELECT price FROM fills WHERE symbol = 'SPY'")
    assert prices and all(Decimal(r["price"]) == Decimal(r["price"]).quantize(Decimal("0.01"))
                          for r in prices)  # fmt: skip
    assert_every_day_reconciles(tmp_path, 100_000)
