"""Replays: recorded or synthetic daily chains fed through the paper broker at accelerated time.

Daily snapshots carry no time of day; each is stamped at `at` (15:45 New York by default, late
enough for end-of-day quotes, early enough to trade before the 16:00 close). After each tick
the clock advances in the paper fill policy's steps so working orders walk toward natural,
as they would over the following minutes of a live session. A replay resumes after a crash:
snapshots whose tick completed are skipped, an interrupted tick is run again with the same
decision times, hence the same idempotency keys.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta

from brokers.paper.broker import PaperBroker
from rulesengine.data.bars import BarsError, load_bars
from rulesengine.data.bundled import bundled
from rulesengine.data.chain import Chain, from_seconds
from rulesengine.data.formats import ChainFileError, load_chain
from rulesengine.data.quotes import SnapshotListing, underlying_prices
from rulesengine.data.synthetic import synthetic_history
from rulesengine.engine.clock import NEW_YORK, ManualClock
from rulesengine.engine.loop import LIVE_STATUSES, Engine

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

    def days(self) -> list[date]:
        return [
            day
            for day in self.chain.quote_dates()
            if (self.start is None or day >= self.start) and (self.end is None or day <= self.end)
        ]

    def between(self, start: date | None, end: date | None) -> ReplaySource:
        return replace(self, start=start, end=end)


def open_replay(spec: str, bars: dict[str, str] | None = None) -> ReplaySource:
    """`spx` (the bundled real SPX week), a chain file path, or
    `synthetic:START:END[:SEED]` (daily SPX chains over the real S&P 500 path and VIX)."""
    try:
        if spec in {"spx", "bundled"}:
            chain = load_chain(bundled("spx", "spx_sample_ivolatility.csv"))
            chain.bars["SPX"] = load_bars("arch:sp500")
            source = ReplaySource(chain, "real SPX week (iVolatility sample)", False)
        elif spec.startswith("synthetic"):
            source = _synthetic(spec)
        else:
            source = ReplaySource(load_chain(spec), spec, False)
        for symbol, where in (bars or {}).items():
            source.chain.bars[symbol] = load_bars(where)
    except (ChainFileError, BarsError) as error:
        raise ReplayError(str(error)) from None
    if not source.days():
        raise ReplayError(f"{spec}: no quote dates to replay")
    return source


def _synthetic(spec: str) -> ReplaySource:
    parts = spec.split(":")
    try:
        start = date.fromisoformat(parts[1]) if len(parts) > 1 else date(2018, 1, 1)
        end = date.fromisoformat(parts[2]) if len(parts) > 2 else start + timedelta(days=364)
        seed = int(parts[3]) if len(parts) > 3 else 0
    except ValueError:
        raise ReplayError(
            f"--replay {spec}: expected synthetic:START:END[:SEED], "
            "e.g. synthetic:2018-01-01:2018-12-31:7"
        ) from None
    spx, vix = load_bars("arch:sp500"), load_bars("arch:vix")
    try:
        chain = synthetic_history(spx, "SPX", start, end, seed=seed, vix=vix)
    except ValueError as error:
        first, last = from_seconds(spx.dates[0]), from_seconds(spx.dates[-1])
        raise ReplayError(
            f"--replay {spec}: {error}; the S&P 500 path runs {first}..{last}"
        ) from None
    chain.bars["SPX"], chain.bars["VIX"] = spx, vix
    label = f"synthetic SPX {start}..{end} seed {seed} (model-generated option prices)"
    return ReplaySource(chain, label, True)


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
) -> int:
    """Run every snapshot of `source` through the engine; returns the ticks run now.
    `should_stop` is asked before each snapshot (a first Ctrl-C: finish the tick, then stop)."""
    last = engine.journal.get("replay_done")
    done = datetime.fromisoformat(last) if last else None
    ran = 0
    for n, day in enumerate(source.days(), start=1):
        when = stamp(day, at)
        if done is not None and when <= done:
            continue
        if should_stop():
            break
        await run_snapshot(engine, broker, clock, source.chain.on(day), when)
        engine.journal.put("replay_done", when.isoformat())  # tick and order work both done
        engine.journal.commit()
        ran += 1
        if on_day is not None:
            on_day(day, n)
        if stop_after is not None and ran >= stop_after:
            break
    return ran


async def run_snapshot(
    engine: Engine, broker: PaperBroker, clock: ManualClock, snapshot: Chain, when: datetime
):
    """One replayed snapshot: feed the paper market, tick, then let orders work."""
    if when > clock.now():
        clock.set(when)
    engine.screen(snapshot)  # before the paper account sees it: a bad quote never fills
    broker.book.update(SnapshotListing(snapshot), underlying_prices(snapshot), when)
    await broker.step()
    report = await engine.tick(snapshot, when)
    await work_orders(engine, broker, clock)
    await engine.close_of_work()
    return report


async def work_orders(engine: Engine, broker: PaperBroker, clock: ManualClock) -> None:
    """Give working orders the fill policy's walk toward natural, step by step."""
    step = broker.policy.step_every
    for _ in range(WORK_STEPS):
        if not engine.journal.orders(LIVE_STATUSES):
            return
        broker.book.time = clock.advance(step)
        await broker.step()
        await engine.sync_orders()
