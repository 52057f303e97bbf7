"""`rules run --broker NAME [--live]`: the engine against a broker's own market data."""

from __future__ import annotations

import asyncio
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from brokers.errors import BrokerError, CredentialsMissing, LiveTradingNotEnabled
from brokers.registry import open_broker
from rulesengine.cli import serving
from rulesengine.cli.broker import check
from rulesengine.cli.run import report_jobs, start_notifier
from rulesengine.data.bars import BarsError
from rulesengine.data.intraday import MinuteBuilder
from rulesengine.data.minute_files import MinuteFileError, load_bar_sources
from rulesengine.engine.clock import Clock, RehearsalClock, WallClock
from rulesengine.engine.journal import Journal
from rulesengine.engine.live import live_loop
from rulesengine.engine.loop import Engine
from rulesengine.engine.reconcile import reconcile
from rulesengine.engine.reload import Reloader
from rulesengine.engine.session import JOURNAL_FILE
from rulesengine.server.serving import ServeError

CLOCKED = ("tastytrade", "schwab")  # adapters whose token and chain windows read a clock


def run_live(args, rules, console) -> int:
    data_dir = Path(args.data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    if args.broker == "paper":
        print(
            "rules run: the paper broker has no market data of its own; use --replay "
            "(recorded or synthetic chains), or a broker's sandbox with --broker NAME",
            file=sys.stderr,
        )
        return 2
    unbounded = sorted(c.name for c in rules.strategies.values() if not c.program.universe)
    if unbounded:
        print(
            f"rules run: live, each strategy's underlyings must be named (a broker has no "
            f"'every underlying'): give {', '.join(unbounded)} a `universe:` list or file",
            file=sys.stderr,
        )
        return 2
    clock = _clock(args)
    if clock is None:
        return 2
    try:
        args.serve_asked = serving.asked(args)
    except ServeError as error:
        print(f"rules run: {error}", file=sys.stderr)
        return 2
    extra: dict[str, Any] = {}
    if args.clock_start and args.broker in CLOCKED:
        extra["clock"] = clock.now
    try:
        broker = open_broker(args.broker, live=args.live, state_dir=data_dir, **extra)
    except (CredentialsMissing, LiveTradingNotEnabled) as error:
        print(f"rules run: {error}", file=sys.stderr)
        return 2
    try:
        history = load_bar_sources(dict(item.split("=", 1) for item in args.bars or ()))
    except (BarsError, MinuteFileError, ValueError) as error:
        print(f"rules run: --bars: {error}", file=sys.stderr)
        return 2
    try:
        return asyncio.run(_run(args, rules, broker, data_dir, console, clock, history))
    except BrokerError as error:
        print(f"rules run: {error}", file=sys.stderr)
        return 1
    except ServeError as error:
        print(f"rules run: {error}", file=sys.stderr)
        return 2


def _clock(args) -> Clock | None:
    """Wall time, or for a rehearsal wall time moved to `--clock-start` (never with --live)."""
    if not args.clock_start:
        return WallClock()
    if args.live:
        print("rules run: --clock-start is for rehearsals; it never runs --live", file=sys.stderr)
        return None
    try:
        return RehearsalClock(datetime.fromisoformat(args.clock_start))
    except ValueError:
        print(
            f"rules run: --clock-start {args.clock_start}: use an ISO time with its offset, "
            "e.g. 2024-03-12T10:00-04:00",
            file=sys.stderr,
        )
        return None


async def _run(args, rules, broker, data_dir: Path, console, clock: Clock, history) -> int:
    daily, store = history
    try:
        for line in await check(broker):  # the confirmation: which account, which mode
            console.print(line, markup=False)
        journal = Journal(data_dir / JOURNAL_FILE)
        notifier = start_notifier(rules, journal)
        if notifier is None:
            journal.close()
            return 2
        if notifier.channels:
            console.print(notifier.describe(), markup=False)
        engine = Engine(
            rules,
            broker,
            journal,
            clock,
            data_dir=data_dir,
            say=lambda m: console.print(m, markup=False),
            notify=True,
        )
        engine.record_rules(engine.clock.now())
        for note in await reconcile(engine, engine.clock.now()):
            console.print(f"reconcile: {note}", markup=False)
        reloader = Reloader(engine, args.paths, lambda m: console.print(m, markup=False))
        reloader.notifier = notifier
        stop = asyncio.Event()
        watcher = asyncio.create_task(reloader.watch(stop))
        say = lambda line: console.print(line, markup=False)  # noqa: E731
        try:
            async with serving.serving(args.serve_asked, engine, reloader, say):
                await live_loop(
                    engine,
                    reloader,
                    args.poll,
                    stop,
                    lambda s: console.print(s, markup=False),
                    max_ticks=args.stop_after,
                    minutes=MinuteBuilder(store),
                    daily=daily,
                    after=report_jobs(engine, say),
                )
        finally:
            stop.set()
            await watcher
            if notifier.channels:
                console.print(notifier.stop(), markup=False)
            journal.close()
    finally:
        await broker.aclose()
    return 0
