"""Intraday benchmarks (issue 14). Prints one line per measurement; figures go to the README.

intraday replay ticks=<n> contracts=<c> wall_s=<x> ms_per_tick=<y>   a quarter of 5-minute ticks
intraday monitor positions=50 median_ms=<x>                            a tick with only exits due
intraday bars symbols=500 minutes=<n> resample_5m_s=<x>                a year of minute bars
intraday reload save_to_active_ms median=<x> max=<y>                   on a running live feed
"""

from __future__ import annotations

import asyncio
import shutil
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rulesengine.check.timeframes import parse_timeframe  # noqa: E402
from rulesengine.data.intraday import MinuteBars, resample  # noqa: E402
from rulesengine.data.quotes import SnapshotListing, underlying_prices  # noqa: E402
from rulesengine.engine.clock import NEW_YORK  # noqa: E402
from rulesengine.engine.orders import candidate_legs  # noqa: E402
from rulesengine.engine.pace import Pacer  # noqa: E402
from rulesengine.engine.positions import Position  # noqa: E402
from rulesengine.engine.reload import Reloader  # noqa: E402
from rulesengine.engine.replay import open_replay, replay  # noqa: E402
from rulesengine.engine.ruleset import load_rules  # noqa: E402
from rulesengine.engine.session import open_paper_session  # noqa: E402
from rulesengine.strategies.scan import candidate_records, scan  # noqa: E402

RULES = ROOT / "rules"
INTRADAY = ["spx_0dte_ema.yaml", "spx_ema_cross_5m.yaml", "risk.yaml"]
QUARTER = "synthetic-intraday:2018-01-02:2018-03-29:5m"


async def quarter() -> tuple[int, int, float]:
    source = open_replay(QUARTER)
    rules = load_rules([RULES / name for name in INTRADAY])
    times = source.times()
    with tempfile.TemporaryDirectory() as tmp:
        session = open_paper_session(rules, Path(tmp), times[0], say=lambda m: None)
        started = time.perf_counter()
        await replay(session.engine, source, session.broker, session.clock)
        wall = time.perf_counter() - started
        session.journal.close()
    return len(times), len(source.snapshot(times[0])), wall


async def monitor_only(n: int = 50, repeat: int = 30) -> float:
    """Ticks at 14:01..14:30 with the 0DTE rules monitoring every minute (their scans end at
    14:00): marks, exits, breakers and the journal for 50 open spreads, no scan."""
    source = open_replay("synthetic-intraday:2018-01-23:2018-01-23:5m")
    first = datetime(2018, 1, 23, 14, 0, tzinfo=NEW_YORK)
    chain = source.snapshot(first)
    # a fresh snapshot each tick, two times in turn: every mark changes (as it would live)
    moments = [first, first + timedelta(minutes=5)]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "spx_0dte_ema.yaml"
        text = (RULES / "spx_0dte_ema.yaml").read_text()
        text = text.replace("every 1m during regular_hours", "every 1m")
        text = text.replace("  - credit >= $0.20\n  - pop >= 80%\n", "  - credit > 0\n")
        path.write_text(text)  # monitored every minute; any credit held
        rules = load_rules([path])
        compiled = rules.strategies["spx_0dte_ema"]
        program = compiled.program
        found = scan(program, compiled.graph, chain)
        records = candidate_records(found, program, chain, None)
        assert records, "the benchmark needs candidates to hold"
        session = open_paper_session(rules, Path(tmp) / "data", first, say=lambda m: None)
        engine = session.engine
        for i in range(n):
            record = records[i % len(records)]
            engine.positions[f"p{i}"] = Position(
                f"p{i}", "spx_0dte_ema", compiled.version, "SPX", candidate_legs(record),
                first - timedelta(hours=3), f"k{i}", quantity=1, ordered=1,
                entry_price=float(record["credit"]), max_profit=float(record["max_profit"]),
                max_loss=float(record["max_loss"]), status="open",
            )  # fmt: skip
            engine.book.save(engine.positions[f"p{i}"])
        times = []
        for k in range(1, repeat + 1):
            when = first + timedelta(minutes=k)
            market = source.snapshot(moments[k % 2])
            session.broker.book.update(SnapshotListing(market), underlying_prices(market), when)
            session.clock.set(when)
            started = time.perf_counter()
            report = await engine.tick(market, when)
            times.append((time.perf_counter() - started) * 1000)
            assert report.entries == 0 and report.exits == 0, "monitoring only"
        session.journal.close()
    return statistics.median(times)


def bars(symbols: int = 500) -> tuple[int, float]:
    """A year (252 sessions) of minute bars for many symbols on one grid -> 5-minute bars."""
    rng = np.random.default_rng(3)
    day_starts = [
        datetime(2018, 1, 2, 9, 30, tzinfo=NEW_YORK) + timedelta(days=d)
        for d in range(366)
        if (datetime(2018, 1, 2) + timedelta(days=d)).weekday() < 5
    ][:252]
    start = np.concatenate([d.timestamp() + 60.0 * np.arange(390) for d in day_starts])
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.0005, (len(start), symbols)), axis=0))
    minutes = MinuteBars(start, close, close * 1.0005, close * 0.9995, close, np.ones_like(close))
    began = time.perf_counter()
    five = resample(minutes, parse_timeframe("5m"))
    elapsed = time.perf_counter() - began
    assert five.close.shape == (252 * 78, symbols)
    return len(start) * symbols, elapsed


async def feed_reload(repeat: int = 5) -> list[float]:
    """Save -> active while a live feed ticks at 60x (a 1-minute tick each second)."""
    with tempfile.TemporaryDirectory() as tmp:
        rules_dir = Path(tmp) / "rules"
        rules_dir.mkdir()
        for name in INTRADAY:
            shutil.copy(RULES / name, rules_dir / name)
        source = open_replay("synthetic-intraday:2018-01-23:2018-01-24:1m")
        times = source.times()
        session = open_paper_session(
            load_rules([rules_dir]), Path(tmp) / "data", times[0], say=lambda m: None
        )
        reloader = Reloader(session.engine, [str(rules_dir)], lambda m: None)
        stop = asyncio.Event()
        watcher = asyncio.create_task(reloader.watch(stop))
        feed = asyncio.create_task(
            replay(
                session.engine, source, session.broker, session.clock,
                pace=Pacer(60.0, 60.0), lock=reloader.lock,
            )
        )  # fmt: skip
        await asyncio.sleep(1.0)
        path = rules_dir / "spx_ema_cross_5m.yaml"
        results = []
        for i in range(repeat):
            before = session.engine.rules
            saved = time.perf_counter()
            path.write_text(path.read_text().replace("credit >= $0.", f"credit >= $0.{i + 1}", 1))
            while session.engine.rules is before and time.perf_counter() - saved < 5:
                await asyncio.sleep(0.002)
            results.append((time.perf_counter() - saved) * 1000)
            await asyncio.sleep(0.5)
        stop.set()
        feed.cancel()
        await watcher
        session.journal.close()
    return results


async def main() -> None:
    ticks, contracts, wall = await quarter()
    print(
        f"intraday replay ticks={ticks} contracts={contracts} wall_s={wall:.1f} "
        f"ms_per_tick={wall / ticks * 1000:.2f}"
    )
    print(f"intraday monitor positions=50 median_ms={await monitor_only():.2f}")
    count, elapsed = bars()
    print(f"intraday bars symbols=500 minute_values={count:,} resample_5m_s={elapsed:.2f}")
    reloads = await feed_reload()
    print(
        f"intraday reload save_to_active_ms median={statistics.median(reloads):.0f} "
        f"max={max(reloads):.0f}"
    )


if __name__ == "__main__":
    asyncio.run(main())
