"""The live loop's code path against a broker that serves chains (the paper account, fed the
real SPX day), and chains rebuilt from broker entries."""

from __future__ import annotations

import asyncio
from datetime import date, datetime, time

import numpy as np
import pytest

from rulesengine.data.chain import Bars, to_seconds
from rulesengine.data.intraday import IntradayStore, MinuteBuilder
from rulesengine.data.quotes import chain_entries, chain_from_entries, underlying_prices
from rulesengine.engine.clock import NEW_YORK
from rulesengine.engine.live import in_session, live_loop
from rulesengine.engine.reload import Reloader

pytestmark = pytest.mark.anyio


def test_chain_from_broker_entries_round_trips_the_spx_day(spx_day):
    when = datetime(2011, 1, 3, 15, 45, tzinfo=NEW_YORK)
    back = chain_from_entries(chain_entries(spx_day), underlying_prices(spx_day), when)
    for name in ("strike", "bid", "ask", "iv", "delta", "expiry", "type", "settlement"):
        assert np.allclose(
            spx_day.column(name).astype(float), back.column(name).astype(float), equal_nan=True
        ), name
    assert np.isnan(back.column("open_interest")).all()  # brokers' chains carry none


async def test_live_loop_ticks_on_broker_chains_and_prints_a_status_line(harness):
    h = harness(
        {
            "puts.yaml": __import__("tests.engine.harness", fromlist=["x"]).PUT_SPREAD.replace(
                "bid > 0\n", "bid > 0\n", 1
            )
        }
    )
    when = datetime(2011, 1, 3, 15, 45, tzinfo=NEW_YORK)
    h.clock.set(when)
    snapshot = h.snapshot(0)
    h.broker.book.update(chain_entries(snapshot), underlying_prices(snapshot), when)
    lines: list[str] = []
    ticks = await live_loop(
        h.engine,
        Reloader(h.engine, [str(h.rules_dir)], lines.append),
        0.0,
        asyncio.Event(),
        lines.append,
        max_ticks=1,
    )
    assert ticks == 1
    assert lines[-1].startswith("15:45:00  open P&L")
    assert "entries 1" in lines[-1] and "breakers none" in lines[-1]


async def test_the_live_loop_builds_minute_bars_from_the_underlying_prices(harness):
    h = harness()
    store = IntradayStore()
    builder = MinuteBuilder(store)
    snapshot = h.snapshot(0)
    for minute, second in ((45, 0), (45, 30), (46, 1)):
        when = datetime(2011, 1, 3, 15, minute, second, tzinfo=NEW_YORK)
        h.clock.set(when)
        h.broker.book.update(chain_entries(snapshot), underlying_prices(snapshot), when)
        await live_loop(
            h.engine,
            Reloader(h.engine, [str(h.rules_dir)], lambda _: None),
            0.0,
            asyncio.Event(),
            lambda _: None,
            max_ticks=1,
            minutes=builder,
            daily={"SPX": Bars.from_closes({to_seconds(date(2011, 1, d)): 1.0 for d in (2, 3)})},
        )
        market = h.engine.market
        assert market is not None and market.intraday is not None
        assert market.bars["SPX"].dates[-1] < to_seconds(date(2011, 1, 3))  # today's not over
    price = float(snapshot.column("underlying_price")[0])
    assert store.minutes["SPX"].close.tolist() == [price]  # 15:45 closed by the 15:46 price


def test_sessions_decide_when_the_live_loop_trades(harness):
    h = harness()

    def at(d, t):
        return datetime.combine(d, t, NEW_YORK)

    assert in_session(h.engine, at(date(2011, 1, 3), time(16, 10)))  # SPX trades to 16:15
    assert not in_session(h.engine, at(date(2011, 1, 3), time(16, 20)))
    assert not in_session(h.engine, at(date(2011, 1, 17), time(12, 0)))  # MLK day
    assert not in_session(h.engine, at(date(2011, 1, 8), time(12, 0)))  # a Saturday
