"""Replays: recorded or synthetic chains fed through the paper broker at accelerated time.

Intraday replays take a snapshot every few minutes (`synthetic-intraday:...:5m`), so schedules
fire at their real times and indicators read intraday bars. Daily snapshots carry no time of
day; each is stamped at `at` (15:45 New York by default, late enough for end-of-day quotes,
early enough to trade before the 16:00 close). After each tick
the clock advances in the paper fill policy's steps so working orders walk toward natural,
as they would over the following minutes of a live session. A replay resumes after a crash:
snapshots whose tick completed are skipped, an interrupted tick is run again with the same
decision times, hence the same idempotency keys.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta

import numpy as np

from brokers.futures import FUTURES, is_future_root
from brokers.paper.broker import PaperBroker
from rulesengine.check.timeframes import TimeframeError, parse_timeframe
from rulesengine.data.bars import BarsError, load_bars
from rulesengine.data.bundled import bundled
from rulesengine.data.chain import COLUMNS, Bars, Chain, from_seconds
from rulesengine.data.formats import ChainFileError, load_chain
from rulesengine.data.intraday import IntradayStore
from rulesengine.data.minute_files import MinuteFileError, load_bar_sources
from rulesengine.data.quotes import SnapshotListing, underlying_prices
from rulesengine.data.synthetic import equity_path, scaled_vol, synthetic_history
from rulesengine.data.synthetic_futures import (
    IntradayFutures,
    front_month_ohlc,
    futures_history,
)
from rulesengine.data.synthetic_intraday import IntradayMarket, intraday_market
from rulesengine.engine.clock import NEW_YORK, ManualClock
from rulesengine.engine.loop import LIVE_STATUSES, Engine
from rulesengine.engine.record import TickReport

WORK_STEPS = 20  # fill-policy steps (30 s each by default): 15:45 -> 15:55, before the close
DEFAULT_AT = time(15, 45)


class ReplayError(Exception):
    """A replay source that can't be opened; the message says what to do."""


@dataclass(frozen=True)
class ReplaySource:
    chain: Chain
    label: str
    model_generated: bool  # option prices from a model, not recorded quotes
    start: date | None = None  # replay only quote dates in [start, end]
    end: date | None = None
    market: IntradayMarket | None = None  # intraday: a chain every few minutes
    minutes: IntradayStore | None = None  # minute bars given with --bars (recorded data)

    @property
    def intraday(self) -> bool:
        return self.market is not None or "quote_time" in self.chain.columns

    @property
    def interval_s(self) -> float:
        """Market seconds between snapshots (a day for daily snapshots)."""
        if self.market is not None:
            return float(self.market.every.seconds)
        if "quote_time" in self.chain.columns:
            steps = np.diff(np.unique(self.chain.columns["quote_time"]))
            steps = steps[steps < 86_400]
            return float(np.median(steps)) if len(steps) else 60.0
        return 86_400.0

    def days(self) -> list[date]:
        sessions = self.market.sessions if self.market else self.chain.quote_dates()
        return [
            day
            for day in sessions
            if (self.start is None or day >= self.start) and (self.end is None or day <= self.end)
        ]

    def times(self, at: time = DEFAULT_AT) -> list[datetime]:
        """When each snapshot is taken: once a day at `at`, at each recorded quote time, or
        every few minutes of a synthetic intraday market."""
        if self.market is not None:
            return [t for day in self.days() for t in self.market.times(day)]
        if "quote_time" in self.chain.columns:
            days = set(self.days())
            recorded = [
                datetime.fromtimestamp(float(s), NEW_YORK)
                for s in np.unique(self.chain.columns["quote_time"])
            ]
            return [t for t in recorded if t.date() in days]
        return [stamp(day, at) for day in self.days()]

    def snapshot(self, when: datetime) -> Chain:
        if self.market is not None:
            return self.market.snapshot(when)
        day = when.astimezone(NEW_YORK).date()
        if "quote_time" in self.chain.columns:
            snapshot = self.chain.at_time(when.timestamp())
        else:
            snapshot = self.chain.on(day)
        if self.minutes is not None:
            snapshot.intraday = self.minutes.at(when)
        return snapshot

    def between(self, start: date | None, end: date | None) -> ReplaySource:
        return replace(self, start=start, end=end)


def open_replay(spec: str, bars: dict[str, str] | None = None) -> ReplaySource:
    """`spx` (the bundled real SPX week), a chain file path,
    `synthetic:START:END[:SEED]` (daily SPX chains over the real S&P 500 path and VIX), or
    `synthetic-intraday:START:END[:EVERY[:SEED]]` (a chain every EVERY, 5m by default)."""
    try:
        if spec.startswith("synthetic-intraday"):
            source = _synthetic_intraday(spec)
        elif spec in {"spx", "bundled"}:
            chain = load_chain(bundled("spx", "spx_sample_ivolatility.csv"))
            chain.bars["SPX"] = load_bars("arch:sp500")
            source = ReplaySource(chain, "real SPX week (iVolatility sample)", False)
        elif spec.startswith("synthetic"):
            source = _synthetic(spec)
        else:
            source = ReplaySource(load_chain(spec), spec, False)
        daily, minutes = load_bar_sources(bars or {})
        source.chain.bars.update(daily)
        if minutes.minutes or minutes.trades:
            source = replace(source, minutes=minutes)
    except (ChainFileError, BarsError, MinuteFileError) as error:
        raise ReplayError(str(error)) from None
    if not source.days():
        raise ReplayError(f"{spec}: no quote dates to replay")
    return source


@contextlib.contextmanager
def _within_sp500(spec: str, spx: Bars) -> Iterator[None]:
    """A synthetic market's span outside the bundled S&P 500 path: say which span it has."""
    try:
        yield
    except ValueError as error:
        first, last = from_seconds(spx.dates[0]), from_seconds(spx.dates[-1])
        raise ReplayError(
            f"--replay {spec}: {error}; the S&P 500 path runs {first}..{last}"
        ) from None


def _synthetic(spec: str) -> ReplaySource:
    parts = spec.split(":")
    try:
        start = date.fromisoformat(parts[1]) if len(parts) > 1 else date(2018, 1, 1)
        end = date.fromisoformat(parts[2]) if len(parts) > 2 else start + timedelta(days=364)
        seed = int(parts[3]) if len(parts) > 3 else 0
        symbol = parts[4].upper() if len(parts) > 4 and parts[4] else "SPX"
        if symbol.startswith("/") and not is_future_root(symbol):
            raise ValueError(symbol)
    except ValueError:
        raise ReplayError(
            f"--replay {spec}: expected synthetic:START:END[:SEED[:SYMBOL]], e.g. "
            "synthetic:2018-01-01:2018-12-31:7, synthetic:2018-01-01:2018-12-31:7:XYZ or "
            f"synthetic:2018-01-01:2018-12-31:0:/MES (futures: {', '.join(FUTURES)})"
        ) from None
    spx, vix = load_bars("arch:sp500"), load_bars("arch:vix")
    if is_future_root(symbol):  # a futures root: its quarterly contracts, no options
        with _within_sp500(spec, spx):
            chain = futures_history(spx, symbol, start, end)
        chain.bars["VIX"] = vix
        label = (
            f"synthetic {symbol} futures {start}..{end} (the S&P 500's path at cost of carry; "
            "model prices)"
        )
        return ReplaySource(chain, label, True)
    if symbol == "SPX":
        with _within_sp500(spec, spx):
            chain = synthetic_history(spx, "SPX", start, end, seed=seed, vix=vix)
        chain.bars["SPX"], chain.bars["VIX"] = spx, vix
        label = f"synthetic SPX {start}..{end} seed {seed} (model-generated option prices)"
        return ReplaySource(chain, label, True)
    # equity-like stocks (one or a comma-separated list): options deliver shares at expiry
    symbols = [s.strip() for s in symbol.split(",") if s.strip()]
    chains, kinds = [], []
    for n, name in enumerate(symbols):
        path, leverage = equity_path(spx, name, start)
        with _within_sp500(spec, spx):
            one = synthetic_history(
                path, name, start, end, seed=seed * 101 + n, vix=scaled_vol(vix, leverage)
            )
        one.bars[name] = path
        chains.append(one)
        kinds.append(f"{name} (S&P 500 returns x {leverage:g})")
    chain = chains[0] if len(chains) == 1 else _together(chains)
    chain.bars["VIX"] = vix
    label = (
        f"synthetic equity-like {', '.join(kinds)} {start}..{end} seed {seed} "
        "(model-generated option prices)"
    )
    return ReplaySource(chain, label, True)


def _together(chains: list[Chain]) -> Chain:
    """Several underlyings' chains as one market, day by day."""
    columns = {n: np.concatenate([c.columns[n] for c in chains]) for n in COLUMNS}
    order = np.argsort(columns["quote_date"], kind="stable")
    bars = {k: v for c in chains for k, v in c.bars.items()}
    together = Chain({n: v[order] for n, v in columns.items()}, bars, source="synthetic stocks")
    together.iv_history = {k: v for c in chains for k, v in c.iv_history.items()}
    return together


def _synthetic_intraday(spec: str) -> ReplaySource:
    parts = spec.split(":")
    try:
        start = date.fromisoformat(parts[1]) if len(parts) > 1 else date(2018, 1, 2)
        end = date.fromisoformat(parts[2]) if len(parts) > 2 else start + timedelta(days=4)
        every = parse_timeframe(parts[3]) if len(parts) > 3 else parse_timeframe("5m")
        seed = int(parts[4]) if len(parts) > 4 else 0
        name = parts[5].upper() if len(parts) > 5 and parts[5] else "SPX"
        if name.startswith("/") and not is_future_root(name):
            raise ValueError(name)
    except (ValueError, TimeframeError):
        raise ReplayError(
            f"--replay {spec}: expected synthetic-intraday:START:END[:EVERY[:SEED[:SYMBOL]]], "
            "e.g. synthetic-intraday:2018-01-02:2018-03-29:5m:7, "
            "synthetic-intraday:2018-01-02:2018-03-29:5m:0:AAPL (an equity-like stock) or "
            f"synthetic-intraday:2018-01-02:2018-03-29:5m:0:/MES (futures: {', '.join(FUTURES)})"
        ) from None
    spx, vix = load_bars("arch:sp500"), load_bars("arch:vix")
    with _within_sp500(spec, spx):
        market = intraday_market(spx, "SPX", start, end, every, seed=seed, vix=vix)
        if is_future_root(name):  # the same sessions, a futures root's contracts
            market = IntradayFutures(
                name, front_month_ohlc(spx, name), market.sessions, every, seed
            )
        elif name != "SPX":  # an equity-like stock: its own minute path and options
            path, leverage = equity_path(spx, name, start)
            market = intraday_market(
                path, name, start, end, every, seed=seed, vix=scaled_vol(vix, leverage)
            )
    label = (
        f"synthetic intraday {name} {start}..{end} every {every} seed {seed} "
        + ("(model-generated minute path and prices)" if name.startswith("/") else
           "(model-generated minute path and option prices)")
    )  # fmt: skip
    opening = market.snapshot(market.times(market.sessions[0])[0])
    return ReplaySource(opening, label, True, market=market)


def stamp(day: date, at: time = DEFAULT_AT) -> datetime:
    return datetime.combine(day, at, NEW_YORK)


async def replay(
    engine: Engine,
    source: ReplaySource,
    broker: PaperBroker,
    clock: ManualClock,
    *,
    at: time = DEFAULT_AT,
    on_day: Callable[[date, int], None] | None = None,
    stop_after: int | None = None,
    should_stop: Callable[[], bool] = lambda: False,
    pace: Callable[[datetime], Awaitable[None]] | None = None,
    on_tick: Callable[[TickReport], None] | None = None,
    lock: asyncio.Lock | None = None,
) -> int:
    """Run every snapshot of `source` through the engine; returns the ticks run now.
    `should_stop` is asked before each snapshot (a first Ctrl-C: finish the tick, then stop).
    `on_day` hears of each finished session (intraday: after its last snapshot); `pace`, if
    given, is awaited before each snapshot (a paced replay sleeps there, and hot reloads land)."""
    last = engine.journal.get("replay_done")
    done = datetime.fromisoformat(last) if last else None
    ran = 0
    times = source.times(at)
    days = {when.astimezone(NEW_YORK).date() for when in times}
    day_number = {day: n for n, day in enumerate(sorted(days), start=1)}
    for i, when in enumerate(times):
        if done is not None and when <= done:
            continue
        if should_stop():
            break
        if pace is not None:
            await pace(when)
        following = times[i + 1] if i + 1 < len(times) else None
        async with lock or contextlib.nullcontext():  # a reload swaps rules between ticks
            report = await run_snapshot(
                engine, broker, clock, source.snapshot(when), when, following
            )
        if on_tick is not None:
            on_tick(report)
        engine.journal.put("replay_done", when.isoformat())  # tick and order work both done
        engine.journal.commit()
        ran += 1
        day = when.astimezone(NEW_YORK).date()
        last_of_day = following is None or following.astimezone(NEW_YORK).date() != day
        if on_day is not None and last_of_day:
            on_day(day, day_number[day])
        if stop_after is not None and ran >= stop_after:
            break
    return ran


async def run_snapshot(
    engine: Engine,
    broker: PaperBroker,
    clock: ManualClock,
    snapshot: Chain,
    when: datetime,
    following: datetime | None = None,
):
    """One replayed snapshot: feed the paper market, tick, then let orders work (until the
    next snapshot, when there is one sooner than the walk's end)."""
    if when > clock.now():
        clock.set(when)
    engine.screen(snapshot)  # before the paper account sees it: a bad quote never fills
    broker.book.update(SnapshotListing(snapshot), underlying_prices(snapshot), when)
    await broker.step()
    report = await engine.tick(snapshot, when)
    await work_orders(engine, broker, clock, following)
    await engine.close_of_work()
    return report


async def work_orders(
    engine: Engine, broker: PaperBroker, clock: ManualClock, until: datetime | None = None
) -> None:
    """Give working orders the fill policy's walk toward natural, step by step (stopping
    before `until`, the next snapshot: the next tick sees the orders still working)."""
    step = broker.policy.step_every
    for _ in range(WORK_STEPS):
        if not engine.journal.orders(LIVE_STATUSES):
            return
        if until is not None and clock.now() + step >= until:
            return
        broker.book.time = clock.advance(step)
        await broker.step()
        await engine.sync_orders()
