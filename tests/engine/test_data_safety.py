"""Stale, NaN, crossed and zero-bid quotes never become an entry; the reason is recorded."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime, time, timedelta

import numpy as np
import pytest

from brokers.errors import OrderRejected
from rulesengine.data.chain import Chain
from rulesengine.data.quotes import chain_entries, underlying_prices
from rulesengine.engine.clock import NEW_YORK
from rulesengine.engine.replay import stamp
from rulesengine.engine.ruleset import load_rules
from rulesengine.strategies.scan import candidate_records, scan
from tests.engine.harness import DAYS, PUT_SPREAD

pytestmark = pytest.mark.anyio

# No `bid > 0` in the legs: the rules let dirty quotes through, the engine must not.
CARELESS = """
strategy: careless
universe: [SPX]
legs:
  short: put where dte between 30 and 60 and delta between -0.30 and -0.20
         prefer delta nearest -0.25
  long: put where expiry == short.expiry and strike == short.strike - 25
size:
  contracts: 1
exit:
  stop_loss: pnl <= -10 * max_profit
"""


CARELESS_SHORT = "dte between 30 and 60 and delta between -0.30 and -0.20"


def top_short_leg(h) -> str:
    compiled = load_rules([h.rules_dir]).strategies["careless"]
    chain = h.snapshot(0)
    result = scan(compiled.program, compiled.graph, chain)
    (record,) = candidate_records(result, compiled.program, chain, 1)
    return record["legs"][0]["symbol"]


def dirtied(chain: Chain, symbol: str, **values) -> Chain:
    columns = {k: v.copy() for k, v in chain.columns.items()}
    row = np.flatnonzero(columns["symbol"] == symbol)[0]
    for name, value in values.items():
        columns[name][row] = value
    return Chain(columns, bars=chain.bars, source=chain.source)


@pytest.mark.parametrize(
    ("change", "clause"),
    [
        ({"bid": np.nan}, "quote: two-sided, finite, not crossed"),
        ({"bid": 9.0, "ask": 8.0}, "quote: two-sided, finite, not crossed"),
    ],
)
async def test_nan_and_crossed_quotes_are_dropped_by_the_scan_with_a_funnel_step(
    harness, change, clause
):
    h = harness({"careless.yaml": CARELESS})
    symbol = top_short_leg(h)
    await h.day(0, chain=dirtied(h.snapshot(0), symbol, **change))
    (scan_row,) = h.decisions("scan")
    funnel = json.loads(scan_row["detail"])["funnel"]
    step = next(s for s in funnel if s["stage"] == "leg:short" and s["clause"] == clause)
    assert step["in"] - step["out"] == 1  # exactly the dirtied contract
    assert all(symbol not in {leg.symbol for leg in p.legs} for p in h.positions())


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"bid": 0.0}, "data: short has a zero bid (ask "),
        ({"quote_age": 3600.0}, "data: short quote is 3600s old (limit 60s)"),
    ],
)
async def test_zero_bid_and_stale_quotes_are_rejected_by_the_engine(harness, change, says):
    h = harness({"careless.yaml": CARELESS})
    symbol = top_short_leg(h)
    await h.day(0, chain=dirtied(h.snapshot(0), symbol, **change))
    first = h.decisions("candidate")[0]
    assert first["outcome"] == "rejected" and first["reason"].startswith(says)
    assert symbol in first["detail"]
    assert all(symbol not in {leg.symbol for leg in p.legs} for p in h.positions())


async def test_clean_quote_is_entered(harness):
    h = harness({"careless.yaml": CARELESS})
    symbol = top_short_leg(h)
    assert (await h.day(0)).entries == 1
    (p,) = h.positions()
    assert symbol in {leg.symbol for leg in p.legs}


async def test_a_snapshot_older_than_the_limit_enters_nothing(harness):
    h = harness({"careless.yaml": CARELESS})
    h.engine.max_quote_age = 30.0
    when = stamp(DAYS[0])
    snapshot = h.snapshot(0)
    h.clock.set(when)
    h.broker.book.update(chain_entries(snapshot), underlying_prices(snapshot), when)
    report = await h.engine.tick(snapshot, as_of=when - timedelta(seconds=60))
    assert report.entries == 0
    reasons = {r["reason"] for r in h.decisions("candidate")}
    assert reasons == {"data: short quote is 60s old (limit 30s)"}


async def test_expiring_options_are_not_entered_after_the_close(harness):
    """Index options trade to 16:15, but the day's expiring PM options stop at 16:00."""
    expiring = "dte == 0 and strike between price - 40 and price"  # the file's 0-DTE deltas are 0
    h = harness({"careless.yaml": CARELESS.replace(CARELESS_SHORT, expiring)})
    await h.day(4, at=time(16, 5))  # Friday 2011-01-07: that day's SPXW expire
    reasons = [r["reason"] for r in h.decisions("candidate")]
    assert reasons and all(
        r == "session: short expires today and stopped trading at the close" for r in reasons
    )
    assert h.positions() == []


SCAN_AT = PUT_SPREAD.replace("universe: [SPX]", "universe: [SPX]\nschedule:\n  scan: at 06:30")


async def test_an_entry_decided_before_the_open_is_refused_and_nothing_fills(harness):
    """Issue 12 #7: `scan: at 06:30` placed an order that the paper broker filled at 06:30."""
    h = harness({"puts.yaml": SCAN_AT})
    report = await h.day(1, at=time(6, 30))  # (the session starts at day 0's 15:45)
    assert report.entries == 0
    rejected = [r for r in h.decisions("candidate") if r["outcome"] == "rejected"]
    assert rejected and all("market closed for SPX" in r["reason"] for r in rejected)
    assert "06:30 is before the 09:30 open" in rejected[0]["reason"]
    assert h.journal.orders() == [] and await h.broker.positions() == []


async def test_the_paper_broker_refuses_and_rests_orders_while_the_market_is_closed(harness):
    h = harness()
    await h.day(0, work=False)  # 15:45: the entry is placed and rests (no walk)
    (row,) = h.journal.orders()
    h.clock.set(datetime.combine(DAYS[0], time(18), NEW_YORK))
    h.broker.book.time = h.clock.now()
    h.broker.policy = replace(h.broker.policy, reprice=False)
    order = await h.broker.order(row.broker_id)
    before = order.filled_quantity
    await h.broker.step()  # evening: nothing fills, whatever the quotes say
    assert (await h.broker.order(row.broker_id)).filled_quantity == before
    with pytest.raises(OrderRejected, match="market closed for SPX"):
        await h.broker.place(replace(order.request, client_key="evening-order"))
