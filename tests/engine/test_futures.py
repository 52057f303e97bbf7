"""Equity index futures end to end: the contract table, front months and roll dates, the
paper account's margin, fees, ticks and settlement, the brokers' order shapes, Globex hours,
and the /MES pack's year through the engine, reconciled to the cent."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from brokers.errors import NotSupported, OrderRejected
from brokers.futures import FUTURES, front_month, listed, parse_future
from brokers.model import Intent, OrderLeg, OrderRequest, OrderType, PriceEffect
from brokers.paper.broker import PaperBroker
from brokers.paper.fills import FeeSchedule
from brokers.paper.margin import Market, margin_credit, requirement
from brokers.paper.market import QuoteBook
from brokers.paper.settings import AccountSettings
from brokers.ticks import order_tick, order_tick_error
from rulesengine.cli.main import main
from rulesengine.data.quotes import chain_entries, underlying_prices
from rulesengine.data.synthetic_futures import futures_history
from rulesengine.engine.sessions import Sessions
from rulesengine.strategies.structures import LegShape, Structures
from tests.equity import assert_every_day_reconciles

pytestmark = pytest.mark.anyio
NY = ZoneInfo("America/New_York")
PACK = Path(__file__).resolve().parents[2] / "rules" / "packs" / "mes_ema"


def test_contracts_are_named_dated_and_rolled_by_the_calendar():
    march = parse_future("/MESH18")
    assert march is not None and march.symbol == "/MESH18" and march.spec.multiplier == 5
    assert march.expiry == date(2018, 3, 16)  # the third Friday
    assert march.roll_date == date(2018, 3, 8)  # 8 days before
    assert front_month("/MES", date(2018, 3, 7)).symbol == "/MESH18"
    assert front_month("/MES", date(2018, 3, 8)).symbol == "/MESM18"  # rolled
    assert [c.symbol for c in listed("/ES", date(2018, 12, 22))] == ["/ESH19", "/ESM19"]
    assert parse_future("/XYZH18") is None and parse_future("SPX") is None
    assert set(FUTURES) >= {"/ES", "/MES", "/NQ", "/MNQ", "/RTY", "/M2K"}


def test_initial_margin_per_contract_in_a_margin_account_only():
    market = Market(lambda u: None, lambda s: Decimal("2700.00"))
    assert requirement({"/MESH18": 2}, {"/MESH18": 5}, market) == Decimal(2_530)  # 2 x 1,265
    assert requirement({"/ESH18": -1}, {"/ESH18": 50}, market) == Decimal(12_650)
    assert requirement({"/MESH18": 1}, {"/MESH18": 5}, None) is None  # a cash account
    # the ledger books the notional in cash; its value counts beside the cash
    assert margin_credit({"/MESH18": 2}, {"/MESH18": 5}, market) == Decimal(27_000)


def test_futures_fees_ticks_and_prices_per_unit():
    fees = FeeSchedule()
    assert fees.for_symbol("/MESH18", -3) == Decimal("3.66")  # 3 x (0.85 + 0.37)
    assert fees.for_symbol("/ESH18", 1) == Decimal("2.23")  # 0.85 + 1.38
    one = [OrderLeg("/MESH18", 1)]
    assert order_tick(one, Decimal("135.0")) == Decimal("0.0125")  # 0.25 points x 5 / 100
    assert order_tick_error(one, Decimal("135.0125")) is None
    assert "use 135.0125 or 135.025" in (order_tick_error(one, Decimal("135.02")) or "")


def snapshot_book(day: date) -> tuple[QuoteBook, str]:
    from rulesengine.data.bars import load_bars

    chain = futures_history(load_bars("arch:sp500"), "/MES", day, day)
    book = QuoteBook()
    at = datetime(2018, 3, 1, 15, 45, tzinfo=NY)
    book.update(chain_entries(chain), underlying_prices(chain), at)
    front = front_month("/MES", day).symbol
    return book, front


async def test_a_future_trades_in_a_margin_account_with_its_initial_margin_held():
    book, front = snapshot_book(date(2018, 3, 1))
    quote = book.quote(front)
    assert quote is not None and quote.ask is not None and quote.mid is not None
    buy = OrderRequest(  # at the ask: 1 contract, priced per unit of weight (5 / 100)
        (OrderLeg(front, 1, Intent.OPEN),), 1, quote.ask * 5 / 100, PriceEffect.DEBIT, "k1"
    )
    cash_account = PaperBroker(book, settings=AccountSettings(cash=Decimal(25_000)))
    with pytest.raises(OrderRejected, match="futures trade in a margin account only"):
        await cash_account.place(buy)
    paper = PaperBroker(book, settings=AccountSettings(cash=Decimal(25_000), margin="margin"))
    filled = await paper.place(buy)
    assert filled.status.value == "filled"
    account = await paper.account()
    # the notional left the cash and counts as the contract's value; the margin is held
    assert account.cash == Decimal(25_000) - quote.ask * 5 - Decimal("1.22")
    value = quote.mid * 5
    assert account.net_liquidation == account.cash + value
    assert account.buying_power == account.cash + value - Decimal(1_265)


def test_a_future_legs_prices_and_greeks_are_scaled_to_the_per_share_convention():
    from rulesengine.data.bars import load_bars

    chain = futures_history(load_bars("arch:sp500"), "/MES", date(2018, 3, 1), date(2018, 3, 1))
    rows = np.array([0])
    s = Structures(chain, [LegShape("long", 1.0, "future")], {"long": rows})
    mid = float(chain.column("mid")[0])
    assert s("credit")[0] == pytest.approx(-mid * 5 / 100)  # x 100 = the contract's $ value
    assert s("net_delta")[0] == pytest.approx(0.05)  # 5 $ a point: 5 shares of the index
    assert s("max_loss")[0] == pytest.approx(mid * 5)  # to zero, in dollars
    assert s("max_profit")[0] == np.inf
    assert s("min_dte")[0] == pytest.approx((date(2018, 3, 16) - date(2018, 3, 1)).days)


def test_globex_hours_come_from_the_cme_calendar():
    sessions = Sessions()
    assert sessions.closed_reason("/MES", datetime(2018, 3, 9, 15, 45, tzinfo=NY)) is None
    assert sessions.closed_reason("/MES", datetime(2018, 3, 11, 19, 0, tzinfo=NY)) is None
    saturday = sessions.closed_reason("/MES", datetime(2018, 3, 10, 12, 0, tzinfo=NY))
    assert saturday == "Globex closed at Sat 2018-03-10 12:00 New York time"
    assert sessions.closed_reason("SPX", datetime(2018, 3, 9, 20, 0, tzinfo=NY)) is not None


def test_brokers_take_futures_orders_where_their_apis_do():
    from brokers.alpaca import order_body as alpaca
    from brokers.schwab_wire import order_body as schwab
    from brokers.tastytrade import order_body as tastytrade

    order = OrderRequest(
        (OrderLeg("/MESZ18", 1, Intent.OPEN),), 2, Decimal("135.0125"), PriceEffect.DEBIT, "k"
    )
    body = tastytrade(order)
    assert body["price"] == "2700.25"  # points
    assert body["legs"] == [
        {"instrument-type": "Future", "symbol": "/MESZ8", "quantity": 2, "action": "Buy"}
    ]
    for refuse in (alpaca, schwab):
        with pytest.raises(NotSupported, match="not futures"):
            refuse(order)


@pytest.fixture(scope="module")
def year(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("mes")
    spec = "synthetic:2018-01-01:2018-12-31:0:/MES"
    assert main(["backtest", str(PACK), "--data", spec, "--out", str(out)]) == 0
    return out


def test_held_contracts_roll_to_the_front_month_on_their_roll_date(year):
    con = sqlite3.connect(year / "journal.sqlite")
    rolls = con.execute("SELECT at, reason FROM decisions WHERE kind='roll'").fetchall()
    assert rolls
    for at, reason in rolls:
        day = datetime.fromisoformat(at).date()
        old, new = reason.split("roll-over: ")[1].split(" (")[0].split(" -> ")
        held, front = parse_future(old), parse_future(new)
        assert held is not None and front is not None
        assert day == held.roll_date or day > held.roll_date  # never before
        assert front.symbol == front_month(front.spec.root, day).symbol
    settled = con.execute(
        "SELECT count(*) FROM positions WHERE exit_reason = 'expired'"
    ).fetchone()[0]
    assert settled == 0  # nothing was left to expire


def test_the_year_reconciles_to_the_cent(year):
    assert_every_day_reconciles(year, 25_000)
    con = sqlite3.connect(year / "journal.sqlite")
    plain = con.execute(  # entered and exited, never rolled (rolls: the daily identity)
        "SELECT id, realised_pnl FROM positions WHERE status='closed' AND roll_number = 0 "
        "AND exit_reason NOT LIKE 'roll:%'"
    ).fetchall()
    assert plain
    for pid, realised in plain:
        fills = con.execute(
            "SELECT f.quantity, f.price, f.fees FROM fills f JOIN orders o ON f.order_key = o.key "
            "WHERE o.position_id = ?",
            (pid,),
        ).fetchall()
        cash = sum(-q * float(p) * 5 - float(f) for q, p, f in fills)
        assert realised == pytest.approx(cash, abs=0.01)


async def test_a_contract_held_to_expiry_settles_in_cash_at_its_last_price(tmp_path):
    from rulesengine.engine.book import PositionBook
    from rulesengine.engine.journal import Journal
    from rulesengine.engine.positions import Position, PositionLeg, Status

    book = QuoteBook()
    after = datetime(2018, 3, 19, 10, 0, tzinfo=NY)
    book.update([], {}, after)
    paper = PaperBroker(book, settings=AccountSettings(cash=Decimal(25_000), margin="margin"))
    paper.ledger.book("/MESH18", 2, Decimal("2700.00"), 5, "/MES")  # cash -27,000
    paper.ledger.spots.see("/MESH18", Decimal("2750.25"), datetime(2018, 3, 16, 15, 59, tzinfo=NY))
    await paper.step()
    assert "/MESH18" not in paper.ledger.holdings
    assert paper.ledger.cash == Decimal(25_000) - 27_000 + Decimal("27502.50")  # +502.50
    # the engine books the same: (2750.25 - 2700) x 5 x 2 = 502.50, before fees
    journal = Journal(tmp_path / "journal.sqlite")
    engine_book = PositionBook(journal)
    leg = PositionLeg("long", "/MESH18", 1, "future", 0.0, "2018-03-16")
    p = Position("p-1", "s", "v", "/MES", [leg], datetime(2018, 3, 1, tzinfo=NY), "k",
                 quantity=2, ordered=2, entry_price=-135.0, status=Status.OPEN)  # fmt: skip
    engine_book.add(p)
    engine_book.spots.see("/MESH18", 2750.25, datetime(2018, 3, 16, 15, 59, tzinfo=NY))
    closed = []
    engine_book.settle_expired(after, lambda q, why, delivered: closed.append(why))
    assert p.status is Status.CLOSED and p.realised_pnl == pytest.approx(502.50)
    assert closed == ["settled at expiry 2018-03-16 for +137.51; realised +502.50"]


M5 = """
strategy: mes_ema_5m
universe: [/MES]
bars: 5m
schedule:
  scan: every 5m during regular_hours
  monitor: every 5m during regular_hours
legs:
  long: buy future where dte > 8 prefer dte nearest 0
entry:
  - crosses_above(ema(close, 9), ema(close, 21))
size:
  contracts: 1
exit:
  trend_over: crosses_below(ema(close, 9), ema(close, 21))
order:
  type: market
  protective_stop: $60
"""


def test_market_orders_and_protective_stops_through_a_week_of_5_minute_bars(tmp_path):
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "mes.yaml").write_text(M5)
    (rules / "risk.yaml").write_text("portfolio: r\npaper:\n  cash: 25000\n  margin: margin\n")
    out = tmp_path / "out"
    spec = "synthetic-intraday:2018-03-05:2018-03-09:5m:0:/MES"
    assert main(["backtest", str(rules), "--data", spec, "--out", str(out)]) == 0
    con = sqlite3.connect(out / "journal.sqlite")
    kinds = dict(con.execute("SELECT key, purpose FROM orders").fetchall())
    types = {r[0] for r in con.execute("SELECT key FROM orders WHERE purpose='entry'")}
    assert types and all(kinds[k] == "entry" for k in types)
    paper = json.loads((out / "paper.json").read_text())
    entries = [o for o in paper["orders"] if o["request"]["client_key"] in types]
    assert entries and all(o["request"]["order_type"] == "market" for o in entries)
    placed = con.execute("SELECT reason FROM decisions WHERE kind='stop'").fetchall()
    assert placed and all(r[0].startswith("protective stop $60: sell stop at ") for r in placed)
    stopped = con.execute(
        "SELECT p.realised_pnl, p.exit_reason FROM positions p WHERE p.exit_reason LIKE "
        "'protective stop filled at %'"
    ).fetchall()
    cancelled = con.execute("SELECT count(*) FROM orders WHERE purpose='stop' AND "
                            "status='cancelled'").fetchone()[0]  # fmt: skip
    assert stopped and cancelled  # some stops fired, the rest gave way to the rules' exits
    for realised, _ in stopped:
        assert realised < 0
    live_stops = con.execute(
        "SELECT count(*) FROM orders o JOIN positions p ON o.position_id = p.id WHERE "
        "o.purpose='stop' AND o.status='working' AND p.status='closed'"
    ).fetchone()[0]
    assert live_stops == 0  # no stop outlives its position
    doubled = con.execute(
        "SELECT position_id FROM orders WHERE purpose='stop' GROUP BY position_id "
        "HAVING count(*) > 1"
    ).fetchall()
    assert doubled == []  # one stop a position: a live one is never placed again
    assert_every_day_reconciles(out, 25_000)


@pytest.mark.parametrize("key", ["type: market", "protective_stop: $100"])
def test_market_orders_and_protective_stops_are_for_shares_and_futures(key):
    from tests.conftest import checked
    from tests.engine.harness import PUT_SPREAD

    (d,) = checked(PUT_SPREAD + f"order:\n  {key}\n").diagnostics
    assert d.code == "E011" and "is for strategies of shares and futures" in d.message


async def test_a_stop_order_rests_until_the_market_trades_through_it():
    book, front = snapshot_book(date(2018, 3, 1))
    quote = book.quote(front)
    assert quote is not None and quote.bid is not None
    paper = PaperBroker(book, settings=AccountSettings(cash=Decimal(25_000), margin="margin"))
    paper.ledger.book(front, 1, quote.bid, 5, "/MES")
    below = (quote.bid - Decimal(10)) * 5 / 100  # 10 points under the bid, per unit
    stop = OrderRequest((OrderLeg(front, -1, Intent.CLOSE),), 1, below, PriceEffect.CREDIT,
                        "s1", order_type=OrderType.STOP, stop_price=below)  # fmt: skip
    resting = await paper.place(stop)
    assert resting.status.value == "working"
    at = quote.bid * 5 / 100  # at the bid: triggered, filled at once at the bid
    hit = OrderRequest((OrderLeg(front, -1, Intent.CLOSE),), 1, at, PriceEffect.CREDIT,
                       "s2", order_type=OrderType.STOP, stop_price=at)  # fmt: skip
    filled = await paper.place(hit)
    assert filled.status.value == "filled" and filled.fills[0].price == quote.bid
    market = OrderRequest((OrderLeg(front, 1, Intent.OPEN),), 1, Decimal(0), PriceEffect.DEBIT,
                          "m1", order_type=OrderType.MARKET)  # fmt: skip
    bought = await paper.place(market)
    assert bought.status.value == "filled" and bought.fills[0].price == quote.ask


def test_brokers_take_market_and_stop_orders_in_their_own_shapes():
    from brokers.alpaca import order_body as alpaca
    from brokers.schwab_wire import order_body as schwab
    from brokers.tastytrade import order_body as tastytrade

    stop = OrderRequest((OrderLeg("XYZ", -1, Intent.CLOSE),), 100, Decimal("0.95"),
                        PriceEffect.CREDIT, "k", order_type=OrderType.STOP,
                        stop_price=Decimal("0.95"))  # fmt: skip
    assert tastytrade(stop)["order-type"] == "Stop" and tastytrade(stop)["stop-trigger"] == "95"
    assert "price" not in tastytrade(stop)
    assert alpaca(stop)["type"] == "stop" and alpaca(stop)["stop_price"] == "95"
    assert schwab(stop)["orderType"] == "STOP" and schwab(stop)["stopPrice"] == "95"
    market = replace(stop, order_type=OrderType.MARKET, stop_price=None)
    assert tastytrade(market)["order-type"] == "Market" and "price" not in tastytrade(market)
    assert alpaca(market)["type"] == "market" and "limit_price" not in alpaca(market)
    assert schwab(market)["orderType"] == "MARKET" and "price" not in schwab(market)


def test_a_protective_stop_limits_the_loss_for_the_stop_loss_lint():
    from tests.conftest import checked

    bare = M5.replace("order:\n  type: market\n  protective_stop: $60\n", "")
    assert [d.code for d in checked(bare).diagnostics] == ["W303"]
    assert checked(M5).diagnostics == []
