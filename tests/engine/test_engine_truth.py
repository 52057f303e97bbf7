"""The numbers the engine acts on (issue 12): settlement, same-tick limits, the scope of a
strategy's limits and breakers, current greeks, breakers from the first tick, rate limits."""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal
from time import monotonic

import pytest

from brokers.errors import BrokerUnavailable
from brokers.http import Health
from brokers.settlement import SpotHistory, intrinsic, settles
from rulesengine.engine.clock import NEW_YORK
from rulesengine.engine.positions import LifecycleError, Status
from tests.engine.harness import PUT_SPREAD

pytestmark = pytest.mark.anyio

CALLS = PUT_SPREAD.replace("strategy: puts", "strategy: calls").replace("put where", "call where")
CALLS = CALLS.replace("delta between -0.30 and -0.20", "delta between 0.20 and 0.30")
CALLS = CALLS.replace("delta nearest -0.25", "delta nearest 0.25").replace(
    "strike == short.strike - 25", "strike == short.strike + 25"
)


def portfolio(limits: str = "", breakers: str = "") -> str:
    text = "portfolio: risk\n"
    if limits:
        text += "limits:\n" + "".join(f"  {line}\n" for line in limits.split(";"))
    if breakers:
        text += "breakers:\n" + "".join(f"  {line}\n" for line in breakers.split(";"))
    return text


async def test_two_strategies_cannot_both_pass_a_portfolio_limit_in_one_tick(harness):
    """#3: with max_new_per_day 1 both strategies entered on the same tick."""
    h = harness({"puts.yaml": PUT_SPREAD, "calls.yaml": CALLS, "risk.yaml": portfolio(
        "max_new_per_day: 1")})  # fmt: skip
    report = await h.day(0)
    assert report.entries == 1
    refused = [r for r in h.decisions("candidate") if "max_new_per_day 1 reached" in r["reason"]]
    (entered,) = [p.strategy for p in h.positions() if p.status != Status.UNFILLED]
    assert refused and {r["strategy"] for r in refused} == {"calls", "puts"} - {entered}


async def test_portfolio_heat_counts_the_entry_decided_earlier_in_the_tick(harness):
    h = harness({"puts.yaml": PUT_SPREAD, "calls.yaml": CALLS, "risk.yaml": portfolio(
        "max_heat: 3%")})  # fmt: skip
    await h.day(0)
    opened = [p for p in h.positions() if p.status != Status.UNFILLED]
    heat = sum(p.max_loss * p.ordered for p in opened) / 100_000
    assert heat <= 0.03 + 1e-9
    assert len(opened) == 1  # each spread risks ~2.3%: the second would pass 3%


async def test_a_strategys_limits_and_breakers_read_its_own_numbers(harness):
    """#4: a strategy's max_positions and day_pnl read the account's totals."""
    puts = PUT_SPREAD.replace("exit:", "limits:\n  max_positions: 1\nbreakers:\n"
                              "  crowded: open_positions >= 2 -> block_entries\nexit:")  # fmt: skip
    calls = CALLS.replace("exit:", "limits:\n  max_positions: 1\nexit:")
    h = harness({"puts.yaml": puts, "calls.yaml": calls})
    report = await h.day(0)
    assert report.entries == 2  # each strategy's max_positions counts only its own
    context = h.engine.context
    assert context.scalars("puts")["open_positions"] == 0  # the tick's marks: nothing held yet
    await h.day(1)
    context = h.engine.context
    assert context.scalars("puts")["open_positions"] == 1
    assert context.scalars(None)["open_positions"] == 2
    assert h.journal.locks() == []  # the account holds 2, the strategy's breaker reads its 1
    mark = h.engine.book.marks
    puts_pnl = sum(mark[p.id].pnl - p.fees for p in h.engine.open_positions("puts"))
    assert context.scalars("puts")["portfolio_delta"] != context.scalars(None)["portfolio_delta"]
    assert context.scalars("puts")["day_pnl"] == pytest.approx(
        puts_pnl - _unrealised_at_day_open(h, "puts"), abs=0.01
    )


def _unrealised_at_day_open(h, strategy: str) -> float:
    return float(h.journal.get(f"day_open:{strategy}:{date(2011, 1, 4)}"))


async def test_portfolio_greeks_are_this_ticks_and_survive_a_restart(harness):
    """#5: greeks were one tick old, and 0 after a restart."""
    h = harness()
    await h.day(0)
    await h.day(1)
    delta = h.engine.context.account["portfolio_delta"]
    (p,) = h.engine.open_positions()
    assert delta == pytest.approx(h.engine.book.marks[p.id].delta) and delta != 0
    h.journal.close()
    h.open()  # restart
    await h.day(2, work=False)
    (p,) = h.engine.open_positions()
    assert h.engine.context.account["portfolio_delta"] == pytest.approx(
        h.engine.book.marks[p.id].delta
    )


async def test_a_broker_outage_from_the_first_tick_trips_the_breaker(harness):
    """#6: breakers were skipped until a first tick succeeded."""
    h = harness({"puts.yaml": PUT_SPREAD, "risk.yaml": portfolio(
        breakers="trouble: broker_errors >= 2 -> halt for 30m")})  # fmt: skip

    async def failing_account():
        raise BrokerUnavailable("503", broker="paper")

    h.broker.account = failing_account
    trips = []
    for minute in (45, 46):
        trips += (await h.day(0, at=time(15, minute), work=False)).trips
    assert trips == ["portfolio.trouble -> halt"]


async def test_rate_limited_reads_the_adapters_recent_429s(harness):
    """#6: `rate_limited` was always 0 (the engine read broker.health, adapters kept it on
    broker.http.health)."""
    h = harness({"puts.yaml": PUT_SPREAD, "risk.yaml": portfolio(
        breakers="throttled: rate_limited >= 3 -> block_entries")})  # fmt: skip
    health = Health()
    for t in (1.0, 2.0, 3.0):
        health.record_429(t)
    h.broker.health = health  # what HttpBroker.health exposes from its HttpClient
    assert health.recent_rate_limits(now=30.0) == 3 and health.recent_rate_limits(now=200) == 0
    report = await h.day(0)
    assert report.entries == 1 and report.trips == []  # 429s long ago (monotonic time)
    now = monotonic()
    for _ in range(3):
        health.record_429(now)
    report = await h.day(1)
    assert report.trips == ["portfolio.throttled -> block_entries"]


def test_the_http_brokers_expose_their_clients_health():
    from brokers.base import HttpBroker
    from brokers.http import HttpClient

    client = HttpClient("x", "http://127.0.0.1:9")
    assert HttpBroker(client).health is client.health


# ---------------------------------------------------------------- settlement (#2)
def test_settlement_uses_the_last_price_seen_on_the_expiry_day():
    spots = SpotHistory()
    friday = datetime(2011, 1, 21, 15, 45, tzinfo=NEW_YORK)
    spots.see("SPX", Decimal("1283.35"), friday)
    spots.see("SPX", Decimal("1290.00"), datetime(2011, 1, 24, 15, 45, tzinfo=NEW_YORK))
    assert spots.settlement_price("SPX", date(2011, 1, 21)) == Decimal("1283.35")
    assert spots.settlement_price("SPX", date(2011, 1, 22)) == Decimal("1283.35")  # Saturday
    assert spots.settlement_price("SPX", date(2011, 1, 20)) is None
    assert not settles(date(2011, 1, 21), friday) and settles(date(2011, 1, 21), friday.replace(
        hour=16))  # fmt: skip
    assert (
        intrinsic("C", 1280.0, 1283.35) == pytest.approx(3.35) and intrinsic("P", 1280.0, 1290) == 0
    )


WEEKLY = """
strategy: weekly
universe: [SPX]
legs:
  short: call where dte <= 4 and delta between 0.30 and 0.70 and bid > 0
         prefer delta nearest 0.5
  long: call where expiry == short.expiry and strike == short.strike + 25 and bid > 0
size:
  contracts: 1
exit:
  stop_loss: pnl <= -100000
"""


async def test_an_expired_position_is_booked_at_what_the_account_received(harness):
    """#2: expiries were booked in the journal at values that differed from the paper
    account's settlement (ITM calls as total losses). A near-the-money call spread expiring
    Friday 2011-01-07 is settled by both at Friday's price, to the cent."""
    h = harness({"weekly.yaml": WEEKLY})
    await h.day(0)
    (p,) = h.engine.open_positions()
    assert p.expiry == "2011-01-07"
    for day in (1, 2, 3, 4):
        await h.day(day)
    await h.day(4, at=time(16, 5), work=False)  # after Friday's close: both settle
    closed = h.journal.position(p.id)
    assert closed.status == Status.CLOSED and closed.exit_reason == "expired"
    assert await h.broker.positions() == []  # the account settled the options too
    traded = [q for q in h.positions() if q.status != Status.UNFILLED]
    assert all(q.status == Status.CLOSED for q in traded)
    realised = sum(Decimal(str(q.realised_pnl)) for q in traded)
    assert h.broker.ledger.cash == Decimal(100_000) + realised  # agree to the cent
    spot = float(h.broker.ledger.spots.settlement_price("SPX", date(2011, 1, 7)))
    assert spot == float(h.engine.book.spots.settlement_price("SPX", date(2011, 1, 7)))
    value = sum(leg.ratio * intrinsic(leg.kind, leg.strike, spot) for leg in p.legs)
    assert value != 0  # an in-the-money settlement, not a worthless expiry


def test_a_closed_position_cannot_move_again():
    from tests.engine.test_sizing_limits import held

    p = held(1)[0]
    p.close(datetime(2011, 1, 4, 16, tzinfo=NEW_YORK), 10.0, "test")
    with pytest.raises(LifecycleError, match="closed -> closing"):
        p.start_exit("k", "again")


async def test_the_paper_account_read_after_a_run_is_still_cash_plus_marks(harness):
    """`rules broker check --data-dir` opens paper.json with no market fed: it valued the
    holdings at cost (99,923.30 after `make run`, against the run's 98,984.12)."""
    from brokers.paper.broker import PaperBroker

    h = harness()
    for day in range(2):
        await h.day(day)
    last = list(h.journal.snapshots())[-1]
    reopened = PaperBroker(state_path=h.data_dir / "paper.json")
    account = await reopened.account()
    assert float(account.net_liquidation) == pytest.approx(last["net_liq"], abs=0.01)
    marks = sum(
        h.quantity * reopened.ledger.marks[s] * h.multiplier
        for s, h in reopened.ledger.holdings.items()
    )
    assert account.net_liquidation == reopened.ledger.cash + marks
