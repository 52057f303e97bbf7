"""The live loop: poll the broker's chains for every strategy's universe during the options
session, build minute bars from the underlyings' prices (history from `--bars` minute files),
tick the engine on each snapshot, print a one-line status. Hot reload runs beside it
and swaps rules only between ticks (the reloader's lock)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

from brokers.errors import BrokerError
from rulesengine.data.chain import Bars, to_seconds
from rulesengine.data.intraday import MinuteBuilder
from rulesengine.data.quotes import chain_from_entries, underlying_prices
from rulesengine.engine.clock import NEW_YORK
from rulesengine.engine.loop import Engine
from rulesengine.engine.reload import Reloader

CLOSED_POLL = 60.0  # seconds between checks while the market is closed


def in_session(engine: Engine, now: datetime) -> bool:
    session = engine.sessions.current(now)
    return session is not None and session.open <= now <= session.options_close("SPX")


async def fetch_chain(engine: Engine, underlyings: list[str], now: datetime):
    """One snapshot of every underlying the strategies trade. A broker whose chain lists
    contracts without quotes (tastytrade: quotes stream over DXLink) is asked for them."""
    entries, prices = [], {}
    for symbol in underlyings:
        listed = await engine.broker.option_chain(symbol)
        unquoted = [e.symbol for e in listed if e.quote is None]
        if unquoted:
            quotes = await engine.broker.quotes(unquoted)
            listed = [
                replace(e, quote=quotes.get(e.symbol)) if e.quote is None else e for e in listed
            ]
        entries += listed
        quote = (await engine.broker.quotes([symbol])).get(symbol)
        price = None if quote is None else quote.mid or quote.last
        if price is not None:
            prices[symbol] = price
    return chain_from_entries(entries, prices, now)


async def live_loop(
    engine: Engine,
    reloader: Reloader,
    poll: float,
    stop: asyncio.Event,
    status: Callable[[str], None],
    max_ticks: int | None = None,
    minutes: MinuteBuilder | None = None,
    daily: dict[str, Bars] | None = None,
    after: Callable[[datetime], None] | None = None,
) -> int:
    """Tick until `stop` is set (or `max_ticks`); returns the ticks run. `minutes` builds
    intraday bars from each snapshot's underlying prices, for intraday indicators; `daily`
    bars (from `--bars`) are read up to yesterday (today's bar is not over). `after(now)` runs
    after each tick and each check while the market is closed (reports after the close)."""
    ticks = 0
    while not stop.is_set() and (max_ticks is None or ticks < max_ticks):
        now = engine.clock.now()
        if not in_session(engine, now):
            if after is not None:
                after(now)
            status(f"{now:%Y-%m-%d %H:%M:%S} market closed; waiting")
            await _sleep(stop, CLOSED_POLL)
            continue
        underlyings = sorted(
            {u for c in engine.rules.strategies.values() for u in c.program.universe}
        )
        try:
            chain = await fetch_chain(engine, underlyings, now)
        except BrokerError as error:
            engine.broker_failed(now, "option chain", error)
            await _sleep(stop, poll)
            continue
        if daily:
            today = to_seconds(now.astimezone(NEW_YORK).date())
            chain.bars = {symbol: bars.until(today - 1) for symbol, bars in daily.items()}
        if minutes is not None:
            for symbol, price in underlying_prices(chain).items():
                minutes.see(symbol, now.timestamp(), float(price))
            chain.intraday = minutes.store.at(now)
        async with reloader.lock:
            report = await engine.tick(chain, now)
        ticks += 1
        if after is not None:
            after(now)
        status(status_line(engine, report))
        await _sleep(stop, poll)
    return ticks


def status_line(engine: Engine, report) -> str:
    marks = [m.pnl for p in engine.open_positions() if (m := engine.book.marks.get(p.id))]
    open_pnl = sum(m for m in marks if m == m)
    locks = [lock for lock in engine.journal.locks() if lock.active(report.at)]
    breakers = ", ".join(f"{lock.name}->{lock.action}" for lock in locks) or "none"
    return (
        f"{report.at:%H:%M:%S}  open P&L {open_pnl:+,.2f}  positions {len(marks)}  "
        f"entries {report.entries} exits {report.exits} rolls {report.rolls}  breakers {breakers}"
    )


async def _sleep(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)
