"""The paper broker on the real SPX week and on hand-made markets: fills, ticks, buying
power, expirations, and a restart that resumes exactly where it stopped."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from brokers.errors import InvalidRequest, NotFound, OrderRejected
from brokers.model import (
    ChainEntry,
    Intent,
    OptionContract,
    OrderLeg,
    OrderRequest,
    OrderStatus,
    PriceEffect,
    Quote,
)
from brokers.occ import format_occ
from brokers.paper.broker import PaperBroker
from brokers.paper.fills import FillPolicy
from brokers.paper.market import QuoteBook
from brokers.paper.settings import AccountSettings, SettingsError
from brokers.pricing import combo_market
from rulesengine.data.quotes import chain_entries, underlying_prices

pytestmark = pytest.mark.anyio
T0 = datetime(2011, 1, 3, 15, 0, tzinfo=UTC)


def entry(
    underlying: str, root: str, expiry: date, right: str, strike: str, bid, ask, size=None
) -> ChainEntry:
    c = OptionContract(root, expiry, right, Decimal(strike))
    symbol = format_occ(c)
    q = Quote(
        symbol,
        bid=None if bid is None else Decimal(bid),
        ask=None if ask is None else Decimal(ask),
        bid_size=size,
        ask_size=size,
    )
    return ChainEntry(symbol, underlying, c, quote=q)


def order(*legs, price="1.00", effect=PriceEffect.CREDIT, qty=1, key="k1") -> OrderRequest:
    return OrderRequest(
        legs=tuple(legs), quantity=qty, limit_price=Decimal(price), effect=effect, client_key=key
    )


@pytest.fixture
def spx_book(spx_day):
    book = QuoteBook()
    book.update(chain_entries(spx_day), underlying_prices(spx_day), T0)
    return book


def jan_put(book: QuoteBook, strike: str) -> str:
    return next(
        e.symbol
        for e in book.chain("SPX")
        if e.contract.right == "P"
        and e.contract.expiry == date(2011, 1, 21)
        and e.contract.strike == Decimal(strike)
    )


async def test_a_real_spx_spread_walks_from_mid_to_a_fill_never_past_natural(spx_book):
    short, long = jan_put(spx_book, "1200"), jan_put(spx_book, "1175")
    legs = (OrderLeg(short, -1), OrderLeg(long, 1))
    market = combo_market(
        legs, {s: spx_book.quote(s) for s in (short, long)}, {short: 100, long: 100}
    )
    assert (market.mid, market.natural) == (Decimal("1.075"), Decimal("0.70"))
    broker = PaperBroker(spx_book, policy=FillPolicy(step_every=timedelta(seconds=30)))
    placed = await broker.place(order(*legs, price="1.10", qty=2))  # above mid: rests
    assert placed.status is OrderStatus.WORKING
    prices = []
    for n in range(1, 20):
        spx_book.time = T0 + timedelta(seconds=30 * n)
        await broker.step()
        current = await broker.order(placed.id)
        prices.append(current.request.limit_price)
        if current.status is OrderStatus.FILLED:
            break
    assert current.status is OrderStatus.FILLED
    assert prices == sorted(prices, reverse=True)  # only ever more aggressive
    threshold = market.mid - Decimal("0.25") * (market.mid - market.natural)
    assert market.natural <= current.average_price <= threshold
    positions = {p.symbol: p.quantity for p in await broker.positions()}
    assert positions == {short: -2, long: 2}
    account = await broker.account()
    fees = 4 * (Decimal("0.65") + Decimal("0.02") + Decimal("0.60"))
    assert account.cash == Decimal(100_000) + current.average_price * 200 - fees
    # requirement: 25 points wide, two lots
    assert account.option_buying_power == account.cash - Decimal(5000)


async def test_a_marketable_limit_fills_at_natural_not_worse(spx_book):
    short, long = jan_put(spx_book, "1200"), jan_put(spx_book, "1175")
    broker = PaperBroker(spx_book)
    filled = await broker.place(order(OrderLeg(short, -1), OrderLeg(long, 1), price="0.05"))
    assert filled.status is OrderStatus.FILLED
    assert filled.average_price == Decimal("0.70")  # natural, although we asked 0.05
    by_leg = {f.symbol: f.price for f in filled.fills}
    assert by_leg == {short: Decimal("2.1"), long: Decimal("1.4")}  # bid and ask


async def test_off_tick_prices_are_rejected_with_the_valid_neighbours(spx_book):
    broker = PaperBroker(spx_book)
    with pytest.raises(OrderRejected, match=r"not on the 0.10 tick for SPX; use 3.00 or 3.10"):
        await broker.place(order(OrderLeg(jan_put(spx_book, "1275"), -1), price="3.03"))


async def test_dirty_markets_never_fill():
    book = QuoteBook()
    exp = date(2024, 4, 19)
    nan = entry("SPY", "SPY", exp, "P", "500", None, "1.62")
    crossed = entry("SPY", "SPY", exp, "P", "495", "0.60", "0.55")
    book.update([nan, crossed], {"SPY": Decimal("510")}, T0)
    broker = PaperBroker(book)
    with pytest.raises(OrderRejected, match="no two-sided market"):
        await broker.place(order(OrderLeg(nan.symbol, -1), price="1.60"))
    with pytest.raises(OrderRejected, match="crossed market"):
        await broker.place(order(OrderLeg(crossed.symbol, -1), price="0.57"))
    with pytest.raises(OrderRejected, match="not in the latest snapshot"):
        await broker.place(order(OrderLeg("SPY   240419P00490000", -1), price="0.50"))


def _one_call_book():
    book = QuoteBook()
    call = entry("SPY", "SPY", date(2024, 4, 19), "C", "520", "2.00", "2.05")
    book.update([call], {"SPY": Decimal("510")}, T0)
    return book, call.symbol


async def test_a_naked_call_is_refused_and_a_covered_one_is_not():
    book, call = _one_call_book()
    broker = PaperBroker(book)
    with pytest.raises(OrderRejected, match="level 3 does not allow uncovered short options"):
        await broker.place(order(OrderLeg(call, -1), price="2.02"))
    naked_ok = PaperBroker(book, settings=AccountSettings(option_level=4, margin="margin"))
    naked = await naked_ok.place(order(OrderLeg(call, -1), price="2.00"))
    assert naked.status is OrderStatus.FILLED  # Reg-T margin: see tests/brokers/test_margin.py
    account = await naked_ok.account()
    # 20% x 510 - 10 OTM = 92 > 10% x 510 = 51; + the 2.025 mark: 94.025 x 100
    assert account.buying_power == account.cash - Decimal("9402.50")
    broker.ledger.book("SPY", 100, Decimal("510"), 1, "SPY")
    covered = await broker.place(order(OrderLeg(call, -1), price="2.00", key="k2"))
    assert covered.status is OrderStatus.FILLED


async def test_buying_power_is_checked_and_explained():
    book = QuoteBook()
    put = entry("SPY", "SPY", date(2024, 4, 19), "P", "500", "1.58", "1.62")
    book.update([put], {"SPY": Decimal("510")}, T0)
    broker = PaperBroker(book, starting_cash=Decimal(40_000))
    with pytest.raises(OrderRejected, match=r"not enough buying power.*requirement \$50,000"):
        await broker.place(order(OrderLeg(put.symbol, -1), price="1.60"))
    preview = await broker.preview(order(OrderLeg(put.symbol, -1), price="1.60"))
    assert not preview.accepted and preview.buying_power_effect == Decimal("49840.00")


async def test_closing_more_than_held_is_refused():
    book, call = _one_call_book()
    broker = PaperBroker(book)
    with pytest.raises(OrderRejected, match=r"cannot close \+1 .* holds \+0"):
        await broker.place(
            order(OrderLeg(call, 1, Intent.CLOSE), price="2.05", effect=PriceEffect.DEBIT)
        )


async def test_partial_fills_take_the_displayed_size():
    book = QuoteBook()
    put = entry("SPY", "SPY", date(2024, 4, 19), "P", "500", "1.58", "1.62", size=3)
    book.update([put], {"SPY": Decimal("510")}, T0)
    broker = PaperBroker(book, starting_cash=Decimal(1_000_000))
    placed = await broker.place(order(OrderLeg(put.symbol, -1), price="1.58", qty=5))
    assert placed.status is OrderStatus.PARTIALLY_FILLED and placed.filled_quantity == 3
    await broker.step()
    assert (await broker.order(placed.id)).status is OrderStatus.FILLED


async def test_a_restart_resumes_the_account_and_never_duplicates(tmp_path, spx_book):
    path = tmp_path / "paper.json"
    short, long = jan_put(spx_book, "1200"), jan_put(spx_book, "1175")
    first = PaperBroker(spx_book, state_path=path)
    placed = await first.place(order(OrderLeg(short, -1), OrderLeg(long, 1), price="0.70"))
    before = await first.account()
    (tmp_path / "paper.json.tmp").write_text("{half written")  # killed mid-write earlier
    restarted = PaperBroker(spx_book, state_path=path)
    assert await restarted.account() == before
    again = await restarted.place(order(OrderLeg(short, -1), OrderLeg(long, 1), price="0.70"))
    assert again.id == placed.id and len(restarted.ledger.orders) == 1
    assert {p.symbol for p in await restarted.positions()} == {short, long}


async def test_cancel_is_idempotent_and_a_final_order_cannot_be_replaced():
    book, call = _one_call_book()
    broker = PaperBroker(book)
    broker.ledger.book("SPY", 100, Decimal("510"), 1, "SPY")
    resting = await broker.place(order(OrderLeg(call, -1), price="2.50"))
    assert (await broker.cancel(resting.id)).status is OrderStatus.CANCELLED
    assert (await broker.cancel(resting.id)).status is OrderStatus.CANCELLED
    with pytest.raises(InvalidRequest, match="is cancelled; nothing to replace"):
        await broker.replace(resting.id, Decimal("2.40"))
    with pytest.raises(NotFound):
        await broker.order("paper-999999")


async def test_day_orders_expire_after_the_session():
    book, call = _one_call_book()
    broker = PaperBroker(book)
    broker.ledger.book("SPY", 100, Decimal("510"), 1, "SPY")
    resting = await broker.place(order(OrderLeg(call, -1), price="2.50"))
    assert resting.status is OrderStatus.WORKING
    book.time = T0 + timedelta(days=1)
    await broker.step()
    assert (await broker.order(resting.id)).status is OrderStatus.EXPIRED


async def test_index_options_cash_settle_and_equity_options_assign():
    book = QuoteBook()
    exp = date(2024, 4, 19)
    spx_put = entry("SPX", "SPXW", exp, "P", "5000", "10", "11")
    spy_put = entry("SPY", "SPY", exp, "P", "500", "1.5", "1.6")
    spy_otm = entry("SPY", "SPY", exp, "P", "480", "0.1", "0.2")
    book.update([spx_put, spy_put, spy_otm], {"SPX": Decimal(5100), "SPY": Decimal(510)}, T0)
    broker = PaperBroker(book)
    for symbol, underlying in (
        (spx_put.symbol, "SPX"),
        (spy_put.symbol, "SPY"),
        (spy_otm.symbol, "SPY"),
    ):
        broker.ledger.book(symbol, -1, Decimal("1"), 100, underlying)
    cash = broker.ledger.cash
    book.update(
        [], {"SPX": Decimal(4990), "SPY": Decimal(495)}, datetime(2024, 4, 19, 20, 30, tzinfo=UTC)
    )  # after the close in New York
    await broker.step()
    positions = {p.symbol: p.quantity for p in await broker.positions()}
    assert positions == {"SPY": 100}  # assigned 100 shares; the options are gone
    # SPX: 10 points ITM, cash-settled; SPY: shares bought at the 500 strike
    assert broker.ledger.cash == cash - 10 * 100 - 500 * 100
    kinds = sorted(s["kind"] for s in broker.ledger.settlements)
    assert kinds == ["assignment", "cash settlement", "expired worthless"]


async def test_saturday_symbols_settle_on_the_friday_they_really_expire(spx_book):
    symbol = jan_put(spx_book, "1300")  # SPX   110122P01300000: the listing says Jan 21
    assert symbol.startswith("SPX   110122P")
    broker = PaperBroker(spx_book)
    broker.ledger.book(symbol, 1, Decimal("30"), 100, "SPX")
    spx_book.time = datetime(2011, 1, 21, 21, 30, tzinfo=UTC)  # Friday, after the close
    await broker.step()
    assert await broker.positions() == []
    assert broker.ledger.settlements[0]["kind"] == "cash settlement"


def test_a_snapshot_replaces_its_underlyings_and_entries_are_built_on_demand(spx_day):
    """The replay feeds a lazy SnapshotListing: the same quotes as eager entries, built only
    for the symbols asked for; a new snapshot of SPX retires the old one's SPX symbols while
    another underlying's listing stays current."""
    from dataclasses import replace as copy

    from brokers.paper.market import EntryListing
    from rulesengine.data.quotes import SnapshotListing

    lazy = SnapshotListing(spx_day)
    eager = {e.symbol: e for e in chain_entries(spx_day)}
    symbol = next(iter(eager))
    assert lazy.get(symbol) == eager[symbol] and len(lazy._built) == 1
    book = QuoteBook()
    xsp = [copy(e, underlying="XSP", symbol="X" + e.symbol[1:]) for e in list(eager.values())[:3]]
    book.update(EntryListing([*eager.values(), *xsp]), underlying_prices(spx_day), T0)
    book.update(lazy, underlying_prices(spx_day), T0 + timedelta(days=1))
    assert book.entry(symbol) == eager[symbol]  # from the new SPX snapshot
    assert book.entry(xsp[0].symbol) == xsp[0]  # XSP's listing is still the first one
    newer = SnapshotListing(spx_day.take(spx_day.column("symbol") != symbol))
    book.update(newer, underlying_prices(spx_day), T0 + timedelta(days=2))
    assert book.entry(symbol) is None and book.quote(symbol) is None  # gone with its snapshot


async def test_option_levels_allow_what_their_tier_allows(tmp_path):
    """Issue 16: the paper account's approval level is a setting, kept in paper.json."""
    book = QuoteBook()
    short_put = entry("SPY", "SPY", date(2024, 4, 19), "P", "500", "1.58", "1.62")
    long_put = entry("SPY", "SPY", date(2024, 4, 19), "P", "495", "0.54", "0.57")
    book.update([short_put, long_put], {"SPY": Decimal("510")}, T0)
    level_1 = PaperBroker(
        book, state_path=tmp_path / "paper.json", settings=AccountSettings(option_level=1)
    )
    csp = await level_1.place(order(OrderLeg(short_put.symbol, -1), price="1.60"))
    assert csp.id and csp.status is not OrderStatus.REJECTED  # cash-secured put: level 1
    with pytest.raises(OrderRejected, match="level 1 does not allow long calls and puts"):
        await level_1.place(order(OrderLeg(long_put.symbol, 1), price="0.57", key="k2"))
    spread = order(OrderLeg(short_put.symbol, -1), OrderLeg(long_put.symbol, 1), price="1.05")
    with pytest.raises(OrderRejected, match="does not allow spreads"):
        await level_1.place(replace(spread, client_key="k3"))
    again = PaperBroker(book, state_path=tmp_path / "paper.json")  # a restart keeps it
    assert (await again.account()).option_level == 1
    level_2 = PaperBroker(book, settings=AccountSettings(option_level=2))
    assert (await level_2.place(order(OrderLeg(long_put.symbol, 1), price="0.57"))).id
    with pytest.raises(OrderRejected, match="does not allow spreads"):
        await level_2.place(replace(spread, client_key="k4"))
    level_3 = PaperBroker(book, starting_cash=Decimal(250_000))
    assert (await level_3.account()).net_liquidation == Decimal(250_000)
    assert (await level_3.place(replace(spread, client_key="k5"))).id


@pytest.mark.parametrize(
    ("kw", "says"),
    [
        ({"cash": Decimal(0)}, "must be positive"),
        ({"option_level": 5}, "choose 1, 2, 3 or 4"),
        ({"margin": "portfolio"}, "choose cash or margin"),
        ({"option_level": 4}, "needs a margin account"),
    ],
)
def test_impossible_settings_are_refused(kw, says):
    with pytest.raises(SettingsError, match=says):
        AccountSettings(**kw)


async def test_stock_on_margin_borrows_half_and_short_stock_sets_aside_150_percent():
    book = QuoteBook()
    book.update([], {"SPY": Decimal("150")}, T0)
    small = Decimal(10_000)

    def buy(n: int, key: str) -> OrderRequest:  # net prices are per 100 shares
        return order(OrderLeg("SPY", n), price=str(Decimal("1.50") * n), effect=PriceEffect.DEBIT,
                     key=key)  # fmt: skip

    def sell(n: int, key: str) -> OrderRequest:
        return order(OrderLeg("SPY", -n), price=str(Decimal("1.50") * n), key=key)

    cash_account = PaperBroker(book, settings=AccountSettings(cash=small))
    with pytest.raises(OrderRejected, match="not enough buying power"):
        await cash_account.place(buy(100, "b1"))  # $15,000 of shares, paid in full
    with pytest.raises(OrderRejected, match="unbounded risk"):
        await cash_account.place(sell(10, "s1"))
    margin = PaperBroker(book, settings=AccountSettings(cash=small, margin="margin"))
    bought = await margin.place(buy(100, "b2"))  # half lent: $7,500 of the $10,000 used
    assert bought.status is OrderStatus.FILLED
    account = await margin.account()
    assert account.cash == Decimal(-5_000) and account.buying_power == Decimal(2_500)
    assert account.net_liquidation == small
    short = PaperBroker(book, settings=AccountSettings(cash=small, margin="margin"))
    with pytest.raises(OrderRejected, match="not enough buying power"):
        await short.place(sell(200, "s2"))  # 150% x $30,000 = $45,000 > $10,000 + $30,000
    sold = await short.place(sell(100, "s3"))  # 150% x $15,000 = $22,500 <= $25,000
    assert sold.status is OrderStatus.FILLED
    account = await short.account()
    assert account.buying_power == Decimal(25_000) - Decimal("22500.0")
    assert account.net_liquidation == small  # the proceeds in cash, the short at its price


async def test_shares_print_at_whole_cents_the_cent_worse_for_the_taker():
    # SPY at 150.1234 (a model price between cents): a buy pays 150.13, a sell gets 150.12,
    # so cash moves by whole cents; a limit is never passed
    book = QuoteBook()
    book.update([], {"SPY": Decimal("150.1234")}, T0)
    paper = PaperBroker(book, settings=AccountSettings(cash=Decimal(100_000), margin="margin"))
    buy = order(OrderLeg("SPY", 10), price="15.02", effect=PriceEffect.DEBIT, key="b")
    bought = await paper.place(buy)  # a limit of $150.20 a share, 10 shares a unit
    (fill,) = bought.fills
    assert fill.price == Decimal("150.13") and bought.status is OrderStatus.FILLED
    sell = order(OrderLeg("SPY", -10), price="15.00", key="s")  # at least $150.00 a share
    (sold,) = (await paper.place(sell)).fills
    assert sold.price == Decimal("150.12")
    account = await paper.account()
    assert account.cash == Decimal("99999.90")  # 10 x (150.12 - 150.13), to the cent
