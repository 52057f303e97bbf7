"""Engine benchmarks. Prints one line per measurement; figures go to the README.

engine tick strategies=5 contracts=<n> median_ms=<x> p90_ms=<y>   fresh SPX snapshot -> orders
engine monitor positions=200 median_ms=<x>                          marks + exits, no orders
engine reload save_to_active_ms median=<x> max=<y>                  watchfiles -> new rules live
engine replay synthetic_days=<n> generate_s=<x> replay_s=<y>        a year, three strategies
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from datetime import date, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rulesengine.data.formats import load_chain  # noqa: E402
from rulesengine.data.quotes import chain_entries, underlying_prices  # noqa: E402
from rulesengine.engine.breakers import Gate  # noqa: E402
from rulesengine.engine.clock import NEW_YORK  # noqa: E402
from rulesengine.engine.orders import candidate_legs  # noqa: E402
from rulesengine.engine.positions import Position  # noqa: E402
from rulesengine.engine.replay import open_replay, replay, stamp  # noqa: E402
from rulesengine.engine.ruleset import load_rules  # noqa: E402
from rulesengine.engine.session import open_paper_session  # noqa: E402
from rulesengine.strategies.scan import candidate_records, scan  # noqa: E402

RULES = ROOT / "rules"
FIVE = ["bull_put_spread", "bear_call_spread", "iron_condor", "cash_secured_put", "covered_call"]
DAY = date(2011, 1, 3)


def rules_subset(names: list[str], with_risk: bool = True):
    files = [RULES / f"{n}.yaml" for n in names] + ([RULES / "risk.yaml"] if with_risk else [])
    return load_rules(files)


async def tick_latency(chain, repeat: int = 15) -> list[float]:
    rules = rules_subset(FIVE)
    times = []
    for _ in range(repeat):
        with tempfile.TemporaryDirectory() as tmp:
            session = open_paper_session(rules, Path(tmp), stamp(DAY), say=lambda m: None)
            when = stamp(DAY)
            session.broker.book.update(chain_entries(chain), underlying_prices(chain), when)
            start = time.perf_counter()
            report = await session.engine.tick(chain, when)
            times.append((time.perf_counter() - start) * 1000)
            assert report.entries >= 1, "the benchmark tick should place orders"
            session.journal.close()
    return times


async def monitor_latency(chain, n: int = 200, repeat: int = 15) -> float:
    rules = rules_subset(["bull_put_spread"], with_risk=False)
    compiled = rules.strategies["bull_put_spread"]
    wide = compiled.program
    result = scan(wide, compiled.graph, chain)
    records = candidate_records(result, wide, chain, None)
    with tempfile.TemporaryDirectory() as tmp:
        session = open_paper_session(rules, Path(tmp), stamp(DAY), say=lambda m: None)
        engine = session.engine
        now = stamp(DAY)
        for i in range(n):
            record = records[i % len(records)]
            engine.positions[f"p{i}"] = Position(
                f"p{i}",
                "bull_put_spread",
                compiled.version,
                "SPX",
                candidate_legs(record),
                datetime(2011, 1, 3, 10, tzinfo=NEW_YORK),
                f"k{i}",
                quantity=1,
                ordered=1,
                entry_price=float(record["credit"]),
                max_profit=float(record["max_profit"]),
                max_loss=float(record["max_loss"]),
                status="open",
            )
        session.broker.book.update(chain_entries(chain), underlying_prices(chain), now)
        await engine.tick(chain, now)  # marks, account and context for the monitor
        context = engine.context
        times = []
        for _ in range(repeat):
            start = time.perf_counter()
            engine.book.mark(chain, context.index, now)
            await engine.exits.monitor(context, compiled, Gate())
            times.append((time.perf_counter() - start) * 1000)
        assert engine.report.exits == 0
        session.journal.close()
    return statistics.median(times)


async def synthetic_year() -> tuple[int, float, float]:
    start = time.perf_counter()
    source = open_replay("synthetic:2018-01-01:2018-12-31:7")
    generated = time.perf_counter() - start
    rules = rules_subset(["bull_put_spread", "bear_call_spread", "iron_condor"])
    with tempfile.TemporaryDirectory() as tmp:
        days = source.days()
        session = open_paper_session(rules, Path(tmp), stamp(days[0]), say=lambda m: None)
        start = time.perf_counter()
        await replay(session.engine, source, session.broker, session.clock)
        replayed = time.perf_counter() - start
        session.journal.close()
    return len(days), generated, replayed


async def reload_latency(repeat: int = 5) -> list[float]:
    """From a file save to the new rules being active, through watchfiles."""
    import shutil

    from rulesengine.engine.reload import Reloader

    with tempfile.TemporaryDirectory() as tmp:
        rules_dir = Path(tmp) / "rules"
        shutil.copytree(RULES, rules_dir)
        session = open_paper_session(load_rules([rules_dir]), Path(tmp) / "data", stamp(DAY))
        reloader = Reloader(session.engine, [str(rules_dir)], lambda m: None)
        stop = asyncio.Event()
        watcher = asyncio.create_task(reloader.watch(stop))
        await asyncio.sleep(0.5)
        path = rules_dir / "bull_put_spread.yaml"
        times = []
        for i in range(repeat):
            before = session.engine.rules
            saved = time.perf_counter()
            path.write_text(
                path.read_text().replace("credit >= $0.", f"credit >= $0.{i}", 1)
                if i
                else path.read_text() + "\n"
            )
            while session.engine.rules is before and time.perf_counter() - saved < 5:
                await asyncio.sleep(0.002)
            times.append((time.perf_counter() - saved) * 1000)
            await asyncio.sleep(0.2)
        stop.set()
        await watcher
        session.journal.close()
    return times


async def main() -> None:
    chain = load_chain(ROOT / "data" / "spx" / "spx_sample_ivolatility.csv").on(DAY)
    times = sorted(await tick_latency(chain))
    p90 = times[int(0.9 * (len(times) - 1))]
    print(
        f"engine tick strategies=5 contracts={len(chain)} "
        f"median_ms={statistics.median(times):.1f} p90_ms={p90:.1f}"
    )
    print(f"engine monitor positions=200 median_ms={await monitor_latency(chain):.2f}")
    reloads = await reload_latency()
    print(
        f"engine reload save_to_active_ms median={statistics.median(reloads):.0f} "
        f"max={max(reloads):.0f}"
    )
    days, generated, replayed = await synthetic_year()
    print(f"engine replay synthetic_days={days} generate_s={generated:.1f} replay_s={replayed:.1f}")


if __name__ == "__main__":
    asyncio.run(main())
