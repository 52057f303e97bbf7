"""The rest of the `order:` policy through the real engine and paper account: first limits as
price expressions, the repricing walk and its slippage stop, ioc, min_fill and retries."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from brokers.errors import OrderRejected
from brokers.model import Intent, OrderLeg, TimeInForce, Walk
from brokers.paper import execution
from brokers.paper.fills import FillPolicy
from rulesengine.engine.marks import SymbolIndex
from rulesengine.engine.pricing import limit_credit, structure_quote
from rulesengine.language.prices import PriceError, Quote, parse_price
from tests.conftest import checked
from tests.engine.harness import PUT_SPREAD

pytestmark = pytest.mark.anyio

SELL = Quote(bid=1.00, ask=1.40, sells=True)  # a structure sold for a credit
BUY = Quote(bid=1.00, ask=1.40, sells=False)  # bought for a debit


@pytest.mark.parametrize(
    ("text", "sell", "buy"),
    [
        ("mid", 1.20, 1.20),
        ("natural", 1.00, 1.40),
        ("95% of bid", 0.95, 0.95),
        ("105% of ask", 1.47, 1.47),
        ("mid - 25% of spread", 1.10, 1.10),
        ("mid + 25% of spread", 1.30, 1.30),
        ("25% toward natural", 1.15, 1.25),
        ("100% toward natural", 1.00, 1.40),
        ("  MID  -  25 %  of  spread ", 1.10, 1.10),
    ],
)
def test_a_limit_price_reads_the_quote_in_the_orders_own_terms(text, sell, buy):
    rule = parse_price(text)
    assert rule.price(SELL) == pytest.approx(sell)
    assert rule.price(BUY) == pytest.approx(buy)


def test_a_walk_stop_may_be_an_amount_from_the_mid():
    stop = parse_price("$0.10 from mid", allow_from_mid=True)
    assert stop.price(SELL) == pytest.approx(1.10) and stop.price(BUY) == pytest.approx(1.30)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("cheap", "is not a limit price: use `mid`, `natural`, `95% of bid`"),
        ("150% toward natural", "past natural"),
        ("$0.10 from mid", "is not a limit price"),  # only a walk's stop takes it
        ("0% of bid", "a positive share of the quote"),
    ],
)
def test_a_price_that_is_none_says_which_forms_are(text, says):
    with pytest.raises(PriceError, match=says):
        parse_price(text)


@given(
    st.floats(0.05, 50), st.floats(0, 5), st.booleans(), st.floats(0, 100)
)  # fmt: skip
def test_toward_natural_stays_between_the_mid_and_natural(bid, width, sells, share):
    quote = Quote(bid, bid + width, sells)
    price = parse_price(f"{share:.4f}% toward natural").price(quote)
    low, high = sorted((quote.mid, quote.natural))
    assert low - 1e-9 <= price <= high + 1e-9


def test_the_checker_refuses_a_bad_price_walk_or_min_fill():
    cases = {
        "  price: cheap\n": "order.price: 'cheap' is not a limit price",
        "  walk: {every: soon}\n": "order.walk: every: 'soon' is not a duration",
        "  walk: {stop: far away}\n": "order.walk: stop: 'far away' is not a limit price",
        "  min_fill: 150%\n": "order.min_fill: '150%' is not a share of the order",
        "  retry_after: later\n": "order.retry_after: 'later' is not a duration",
    }
    for section, message in cases.items():
        (d,) = checked(PUT_SPREAD + "order:\n" + section).diagnostics
        assert d.code == "E011" and message in d.message, section


def test_the_structure_quote_is_the_legs_quotes_with_the_brokers_weights(spx):
    chain = spx.on(spx.quote_dates()[0])
    index = SymbolIndex(chain)
    symbols = chain.column("symbol")
    bid, ask = chain.column("bid"), chain.column("ask")
    rows = [i for i in range(len(chain)) if bid[i] > 1 and ask[i] > bid[i]][:2]
    short, long = (str(symbols[i]) for i in rows)
    legs = [OrderLeg(short, -1, Intent.OPEN), OrderLeg(long, 1, Intent.OPEN)]
    quote = structure_quote(chain, index, legs)
    assert quote is not None
    s, lg = rows
    natural = float(bid[s] - ask[lg])  # sell the short at its bid, buy the long at its ask
    far = float(ask[s] - bid[lg])
    sells = (bid[s] + ask[s]) / 2 > (bid[lg] + ask[lg]) / 2
    if sells:
        assert (quote.bid, quote.ask) == pytest.approx((natural, far))
    else:
        assert (quote.bid, quote.ask) == pytest.approx((-far, -natural))
    assert limit_credit(parse_price("natural"), quote, 0.0) == pytest.approx(natural)
    missing = [OrderLeg("SPX   991231P09999000", -1, Intent.OPEN)]
    assert structure_quote(chain, index, missing) is None
    assert limit_credit(parse_price("natural"), None, 1.23) == 1.23  # no quote: the mid


def resting(harness, rules: dict[str, str]):
    h = harness(rules)
    h.broker.policy = FillPolicy(reprice=False)  # without a walk of its own, nothing moves
    return h


@pytest.mark.parametrize(("price", "status"), [("mid", "working"), ("natural", "filled")])
async def test_an_entry_at_natural_fills_at_once_where_one_at_the_mid_rests(
    harness, price, status
):
    h = resting(harness, {"puts.yaml": PUT_SPREAD + f"order:\n  price: {price}\n"})
    await h.day(0, work=False)
    (order,) = h.journal.orders()
    assert order.status == status
    (p,) = h.positions()
    if price == "natural":  # the limit is the natural credit on the tick, and fills there
        assert float(order.limit_price) == pytest.approx(p.entry_price)
        assert p.entry_price < p.detail["planned_credit"]


async def test_a_walk_moves_toward_natural_and_stops_at_its_slippage_limit(harness):
    walk = "order:\n  walk: {every: 30s, ticks: 1, stop: $0.05 from mid}\n"
    h = resting(harness, {"puts.yaml": PUT_SPREAD + walk})
    await h.day(0)  # the replay works orders for a while after the tick
    (order,) = h.journal.orders()
    (p,) = h.positions()
    mid = p.detail["planned_credit"]
    placed = h.broker.ledger.orders[order.broker_id]
    assert placed.request.walk == Walk(30.0, 1, Decimal(str(round(mid - 0.05, 2))))
    assert float(placed.request.limit_price) >= round(mid - 0.05, 2) - 1e-9
    assert float(placed.request.limit_price) < round(mid, 2)  # it did walk


async def test_walk_off_rests_at_the_first_limit(harness):
    h = harness({"puts.yaml": PUT_SPREAD + "order:\n  walk: off\n"})  # the default would walk
    await h.day(0)
    (order,) = h.journal.orders()
    placed = h.broker.ledger.orders[order.broker_id]
    assert placed.request.walk == Walk(ticks=0)
    assert placed.request.limit_price == Decimal(order.limit_price)  # never repriced


async def test_ioc_cancels_what_does_not_fill_at_once(harness):
    h = resting(harness, {"puts.yaml": PUT_SPREAD + "order:\n  tif: ioc\n"})
    await h.day(0, work=False)
    (order,) = h.journal.orders()
    assert order.status == "cancelled"
    assert "immediate or cancel" in order.reason
    (p,) = h.positions()
    assert p.status == "unfilled"
    placed = h.broker.ledger.orders[order.broker_id]
    assert placed.request.time_in_force is TimeInForce.IOC


async def test_an_entry_short_of_min_fill_is_unwound_at_the_next_tick(harness, monkeypatch):
    rules = PUT_SPREAD.replace("contracts: 1", "contracts: 4") + "order:\n  min_fill: 50%\n"
    h = resting(harness, {"puts.yaml": rules})
    # the market shows one spread at a time: the rest of the order works, then expires
    monkeypatch.setattr(execution, "fillable_units", lambda legs, quotes, remaining, policy: 1)
    h.broker.policy = FillPolicy(reprice=False)
    h.broker.checks.problem = lambda order: None
    entry = h.broker.place

    async def place_marketable(req):  # the first unit fills at once, the rest rests
        return await entry(req.with_price(Decimal("0.05")))

    h.broker.place = place_marketable
    await h.day(0, work=False)
    monkeypatch.setattr(execution, "fillable_units", lambda legs, quotes, remaining, policy: 0)
    await h.day(1, work=False)  # the day order expired with 1 of 4 filled
    (p,) = h.positions()
    unwinding = [d for d in h.decisions("entry") if d["outcome"] == "unwinding"]
    assert unwinding and unwinding[0]["reason"] == "min_fill 50%: 1 of 4 filled"
    exits = [d for d in h.decisions("exit") if d["outcome"] == "closing"]
    assert exits and exits[0]["reason"] == "unwound: min_fill 50%: 1 of 4 filled"
    assert p.quantity == 1 and p.status in {"closing", "closed"}


async def test_a_rejected_entry_is_sent_again_after_the_wait_then_given_up(harness):
    rules = PUT_SPREAD + "order:\n  retries: 2\n  retry_after: 1h\n"
    h = harness({"puts.yaml": rules})
    refusals = iter(["no: first", "no: second", "no: third"])

    async def refuse(req):
        raise OrderRejected(next(refusals), broker="paper")

    h.broker.place = refuse
    await h.day(0)
    (p,) = h.positions()
    assert p.status == "opening" and p.detail["retry"]["attempt"] == 1  # holds its place
    (first,) = [d for d in h.decisions("candidate") if d["outcome"] == "retrying"]
    assert first["reason"] == "order: paper: no: first; retry 1 of 2 after 3600s"
    await h.day(1)  # a day later: retry 1 refused, retry 2 booked (2h)
    await h.day(2)  # retry 2 refused: no more
    outcomes = [(d["outcome"], d["reason"]) for d in h.decisions("entry")]
    assert outcomes[0] == (
        "retrying", "1 x at +4.00 (fixed 1) (retry 1); order: paper: no: second; retry 2 of 2 "
        "after 7200s",
    )  # fmt: skip
    assert outcomes[1] == (
        "rejected", "1 x at +4.00 (fixed 1) (retry 2); order: paper: no: third"
    )  # fmt: skip
    (p,) = [q for q in h.positions() if q.id == p.id]
    assert p.status == "unfilled" and "retry" not in p.detail


async def test_a_retried_entry_that_goes_through_opens_the_position(harness):
    h = harness({"puts.yaml": PUT_SPREAD + "order:\n  retries: 1\n  retry_after: 10m\n"})
    place = h.broker.place
    calls = []

    async def refuse_once(req):
        calls.append(req.client_key)
        if len(calls) == 1:
            raise OrderRejected("busy", broker="paper")
        return await place(req)

    h.broker.place = refuse_once
    await h.day(0)
    await h.day(1)
    assert len(calls) == 2 and calls[0] != calls[1]  # a new decision, a new key
    opened = [p for p in h.positions() if p.status == "open"]
    assert len(opened) >= 1 and opened[0].entry_key == calls[1]


async def test_a_refused_exit_is_held_again_not_left_closing(harness):
    rules = PUT_SPREAD.replace("-10 * max_profit", "-0.01 * max_profit")
    h = harness({"puts.yaml": rules + "order:\n  retries: 1\n  retry_after: 1h\n"})
    await h.day(0)
    place = h.broker.place

    async def refuse_exits(req):
        if all(leg.intent is Intent.CLOSE for leg in req.legs):
            raise OrderRejected("closing refused", broker="paper")
        return await place(req)

    h.broker.place = refuse_exits
    await h.day(1)
    held = [p for p in h.positions() if p.status == "open"]
    assert held and held[0].detail["retry"]["purpose"] == "exit"
    failed = [d for d in h.decisions("exit") if d["outcome"] == "retrying"]
    said = "order: paper: closing refused; retry 1 of 1 after 3600s"
    assert failed and said in failed[0]["reason"]
