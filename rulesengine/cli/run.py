"""`rules run`: the engine over a replay (paper broker) or live through a broker."""

from __future__ import annotations

import asyncio
import contextlib
import io
import signal
import sys
from collections.abc import Callable
from datetime import datetime, time
from pathlib import Path

from rich.console import Console

from brokers.paper.settings import SettingsError
from rulesengine.check.summary import print_text
from rulesengine.cli import data_warnings, paper, serving
from rulesengine.cli.progress import progress_bar
from rulesengine.engine.clock import NEW_YORK
from rulesengine.engine.pace import Pacer, SpeedError, parse_speed
from rulesengine.engine.reconcile import reconcile
from rulesengine.engine.reload import Reloader
from rulesengine.engine.replay import DEFAULT_AT, ReplayError, open_replay, replay
from rulesengine.engine.ruleset import RulesError, load_rules
from rulesengine.engine.session import SessionError, open_paper_session, summary
from rulesengine.notify.channels import ChannelError
from rulesengine.notify.service import Notifier
from rulesengine.server.serving import ServeError


def run(args) -> int:
    console = Console(highlight=False, width=None if sys.stdout.isatty() else 132)
    try:
        rules = load_rules(args.paths)
    except RulesError as error:
        if not any(r.errors for r in error.results):  # no files, or a clash between them
            print(f"rules run: {error}", file=sys.stderr)
            return 2
        out = io.StringIO()
        print_text([r for r in error.results if r.errors], out=out)
        print(out.getvalue().rstrip(), file=sys.stderr)
        return 1
    if args.broker != "paper" or args.live:
        from rulesengine.cli.live import run_live

        return run_live(args, rules, console)
    try:
        speed = parse_speed(args.speed, 1.0 if args.feed else None)
        spec = feed_spec(args.feed) if args.feed else args.replay or "spx"
    except (SpeedError, ReplayError) as error:
        print(f"rules run: {error}", file=sys.stderr)
        return 2
    try:
        at = time.fromisoformat(args.at) if args.at else DEFAULT_AT
        bars = dict(item.split("=", 1) for item in args.bars or ())
        source = open_replay(spec, bars)
    except ValueError:
        print(f"rules run: --at {args.at}: use HH:MM, e.g. 15:45", file=sys.stderr)
        return 2
    except ReplayError as error:
        print(f"rules run: {error}", file=sys.stderr)
        return 2
    try:
        args.serve_asked = serving.asked(args)
    except ServeError as error:
        print(f"rules run: {error}", file=sys.stderr)
        return 2
    args.watch = args.watch or bool(args.feed)  # a feed keeps running: hot reload is on
    data_warnings.show("rules run", source.chain)
    days = source.days()
    try:
        account = paper.settings(args, rules)
        session = open_paper_session(
            rules,
            Path(args.data_dir),
            source.times(at)[0],  # the first snapshot: intraday, its own time
            fresh=args.fresh,
            say=lambda m: console.print(m, markup=False),
            settings=account,
            notify=True,
        )
    except (SettingsError, SessionError) as error:
        print(f"rules run: {error}", file=sys.stderr)
        return 2
    notifier = start_notifier(rules, session.journal)
    if notifier is None:
        session.journal.close()
        return 2
    mode = "replay, paper broker" + (
        " (model-generated option prices)" if source.model_generated else ""
    )
    if args.feed:
        mode = "live paper feed, paper broker (model-generated market)"
    if speed is not None:
        mode += f", {speed:g}x real time"
    if args.watch:
        mode += ", watching the rules for saves"
    console.print(
        f"rules run: {len(rules.strategies)} strategies, {len(rules.portfolios)} portfolio files, "
        f"version {rules.version}; {mode}: {source.label}, {len(days)} days; "
        f"{session.broker.ledger.settings.describe()}; journal {args.data_dir}"
    )
    if notifier.channels:
        console.print(notifier.describe(), markup=False)
    interrupts = Interrupts()
    try:
        with interrupts.installed():
            pacer = Pacer(speed, source.interval_s)
            run = _replay(session, source, args, at, console, interrupts, pacer, notifier)
            asyncio.run(run)
    except KeyboardInterrupt:
        print(
            "rules run: stopped at once. The journal is safe: a tick cut short is re-run whole "
            f"when you resume with `{resume_command(args)}`",
            file=sys.stderr,
        )
        notifier.dispatcher.stop()
        session.journal.close()
        return 130
    except ServeError as error:  # the address could not be had: nothing was replayed
        print(f"rules run: {error}", file=sys.stderr)
        notifier.dispatcher.stop()
        session.journal.close()
        return 2
    try:
        if notifier.channels:
            console.print(notifier.stop(), markup=False)
        print_summary(console, summary(session.journal))
        done = session_done(session)
    finally:
        session.journal.close()
    if interrupts.requested:
        print(
            f"rules run: interrupted after {done}; resume with `{resume_command(args)}`",
            file=sys.stderr,
        )
        return 130
    return 0


class Interrupts:
    """Ctrl-C during a replay: the first finishes the current tick and stops with the summary,
    the second stops at once (both exit 130; the journal makes either safe to resume)."""

    def __init__(self) -> None:
        self.requested = False

    def __call__(self, signum, frame) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        print(
            "\nrules run: stopping after this tick (Ctrl-C again to stop at once)",
            file=sys.stderr,
            flush=True,
        )

    @contextlib.contextmanager
    def installed(self):
        previous = signal.signal(signal.SIGINT, self)
        try:
            yield self
        finally:
            signal.signal(signal.SIGINT, previous)


def feed_spec(feed: str) -> str:
    """`--feed synthetic[:START[:END[:EVERY[:SEED]]]]` as the intraday replay it runs."""
    name, _, rest = feed.partition(":")
    if name != "synthetic":
        raise ReplayError(
            f"--feed {feed}: the built-in feed is `synthetic` (a model-generated intraday SPX "
            "market); a broker's feed is `--broker NAME`"
        )
    parts = rest.split(":") if rest else []
    defaults = ["2018-01-02", "2018-12-31", "1m", "0"]
    parts += defaults[len(parts) :]
    return "synthetic-intraday:" + ":".join(parts)


def resume_command(args) -> str:
    """The same run without --fresh: it resumes from the journal."""
    parts = ["rules run", *args.paths]
    if args.feed:
        parts += ["--feed", args.feed]
    if args.replay:
        parts += ["--replay", args.replay]
    if args.at:
        parts += ["--at", args.at]
    parts += ["--data-dir", str(args.data_dir)]
    return " ".join(parts)


def session_day(session):
    """The market day the run's clock ended on."""
    return session.clock.now().astimezone(NEW_YORK).date()


def session_done(session) -> str:
    last = session.journal.get("replay_done")
    return last[:10] if last else "no complete day"


def start_notifier(rules, journal) -> Notifier | None:
    """The rules' channels sending from the journal's outbox; None (said why) when one cannot
    be used."""
    try:
        return Notifier(journal.path, [c.program for c in rules.portfolios]).start()
    except ChannelError as error:
        print(f"rules run: {error}", file=sys.stderr)
        return None


async def _replay(
    session,
    source,
    args,
    at,
    console: Console,
    interrupts: Interrupts,
    pacer: Pacer,
    notifier: Notifier,
) -> None:
    engine = session.engine
    for note in await reconcile(engine, session.clock.now()):
        console.print(f"reconcile: {note}", markup=False)
    days = source.days()
    reloader = Reloader(engine, args.paths, lambda m: console.print(m, markup=False))
    reloader.notifier = notifier
    stop = asyncio.Event()
    watcher = asyncio.create_task(reloader.watch(stop)) if args.watch else None
    progress = progress_bar(console)
    day = DayTotals()
    missing = data_warnings.MissingData("rules run")

    say = lambda line: console.print(line, markup=False)  # noqa: E731
    reports = report_jobs(engine, say)

    def on_tick(report) -> None:
        reports(report.at)
        day.add(report)
        missing.note(report)
        if source.intraday:
            local = report.at.astimezone(NEW_YORK)
            progress.update(task, description=f"{local:%Y-%m-%d %H:%M} ET")

    def on_day(when, n) -> None:
        progress.update(task, completed=n, description=str(when))
        trips = ", ".join(day.trips) or "-"
        console.print(
            f"{when}  entries {day.entries}  exits {day.exits}  rolls {day.rolls}  "
            f"open {len(engine.open_positions())}  decisions {day.decisions}  breakers {trips}",
            markup=False,
        )
        day.clear()

    async with serving.serving(args.serve_asked, engine, reloader, say):
        with progress:
            task = progress.add_task("replay", total=len(days))
            await replay(
                engine,
                source,
                session.broker,
                session.clock,
                at=at,
                on_day=on_day,
                stop_after=args.stop_after,
                should_stop=lambda: interrupts.requested,
                on_tick=on_tick,
                pace=pacer if (args.watch or pacer.speed is not None) else None,
                lock=reloader.lock,
            )
            await session.broker.aclose()
    if days and not interrupts.requested:  # the last session's report is due after its close
        reports(datetime.combine(session_day(session), time(23, 59), NEW_YORK))
    if watcher is not None:
        stop.set()
        await watcher


class DayTotals:
    """One session's ticks added up (an intraday replay ticks many times a day)."""

    def __init__(self) -> None:
        self.clear()

    def clear(self) -> None:
        self.entries = self.exits = self.rolls = self.decisions = 0
        self.trips: list[str] = []

    def add(self, report) -> None:
        self.entries += report.entries
        self.exits += report.exits
        self.rolls += report.rolls
        self.decisions += report.decisions
        self.trips += [t for t in report.trips if t not in self.trips]


def print_summary(console: Console, s: dict) -> None:
    pnl = "n/a" if s["pnl"] is None else f"{s['pnl']:+,.2f}"
    console.print(
        f"summary: {s['entries']} trades entered, {s['rolls']} rolls, {s['closed']} closed "
        f"({s['wins']} won), {s['open']} open; realised P&L {s['realised_pnl']:+,.2f}, "
        f"account P&L {pnl} (net liq {s['net_liq_end'] or 0:,.2f})",
        markup=False,
    )
    kinds = ", ".join(f"{k} {v}" for k, v in sorted(s["decisions_by_kind"].items()))
    console.print(f"decisions: {s['decisions']} ({kinds}); orders: {s['orders']}", markup=False)
    console.print(f"breakers tripped: {', '.join(s['breakers']) or 'none'}", markup=False)


def report_jobs(engine, say) -> Callable[[datetime], None]:
    """The rules' report jobs, run whenever the clock moves (after ticks, and live while the
    market is closed); they follow reloads."""
    from rulesengine.reports.jobs import ReportJobs

    programs = lambda: [c.program for c in engine.rules.every()]  # noqa: E731
    jobs = ReportJobs(engine.journal, engine.data_dir, programs(), engine.recorder.notify)
    seen = [engine.rules.version]

    def run(now: datetime) -> None:
        if engine.rules.version != seen[0]:
            seen[0] = engine.rules.version
            jobs.follow(programs())
        for written in jobs.run_due(now):
            say(f"report: {written.text} ({written.report.summary})")

    return run
