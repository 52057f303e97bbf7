"""`rules backtest`: the engine and paper broker over recorded or synthetic chains, measured;
with `--vary`, a grid of variants run in parallel and ranked."""

from __future__ import annotations

import io
import sys
from datetime import date, time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from brokers.paper.settings import SettingsError
from rulesengine.backtest.report import fmt, print_report, write_report
from rulesengine.backtest.run import run_backtest
from rulesengine.backtest.runners import DaskRunner, LocalRunner, RunnerError, SweepRunner
from rulesengine.backtest.sweep import (
    Job,
    SweepError,
    SweepLog,
    parse_axis,
    rank,
    run_sweep,
    variants,
)
from rulesengine.check.summary import print_text
from rulesengine.cli import data_warnings, paper
from rulesengine.cli.progress import progress_bar
from rulesengine.engine.replay import DEFAULT_AT, ReplayError, open_replay
from rulesengine.engine.ruleset import RulesError, load_rules

RANKABLE = ("sharpe", "sortino", "total_return", "profit_factor", "expectancy", "max_drawdown")


def run(args) -> int:
    console = Console(highlight=False, width=None if sys.stdout.isatty() else 132)
    try:
        start = date.fromisoformat(args.start) if args.start else None
        end = date.fromisoformat(args.end) if args.end else None
        at = time.fromisoformat(args.at) if args.at else DEFAULT_AT
    except ValueError as error:
        return _usage(f"dates are YYYY-MM-DD and --at is HH:MM ({error})")
    try:
        rules = load_rules(args.paths)
    except RulesError as error:
        if not any(r.errors for r in error.results):
            return _usage(str(error))
        out = io.StringIO()
        print_text([r for r in error.results if r.errors], out=out)
        print(out.getvalue().rstrip(), file=sys.stderr)
        return 1
    spec = data_spec(args.data, start, end, args.seed)
    try:
        source = open_replay(spec).between(start, end)
    except ReplayError as error:
        return _usage(str(error))
    data_warnings.show("rules backtest", source.chain)
    if not source.days():
        return _usage(f"{source.label} has no quote dates between {start} and {end}")
    try:
        account = paper.settings(args, rules)
    except SettingsError as error:
        return _usage(str(error))
    if args.vary:
        return _sweep(args, spec, start, end, console)
    out_dir = Path(args.out)
    progress = progress_bar(console)
    with progress:
        task = progress.add_task("backtest", total=len(source.days()))
        result = run_backtest(
            rules,
            source,
            out_dir,
            at=at,
            on_day=lambda day, n: progress.update(task, completed=n, description=str(day)),
            settings=account,
            on_tick=data_warnings.MissingData("rules backtest").note,
        )
    write_report(result, out_dir)
    print_report(console, result, out_dir)
    return 0


def data_spec(data: str, start: date | None, end: date | None, seed: int) -> str:
    """`synthetic` alone takes its span from --from/--to (default: 2018) and --seed."""
    if data != "synthetic":
        return data
    first = start or date(2018, 1, 1)
    last = end or date(first.year, 12, 31)
    return f"synthetic:{first}:{last}:{seed}"


def _sweep(args, spec: str, start, end, console: Console) -> int:
    try:
        axes = [parse_axis(v) for v in args.vary]
        grid = variants(args.paths, axes)
    except SweepError as error:
        return _usage(str(error))
    jobs = [
        Job(
            label,
            tuple(sorted(texts.items())),
            spec,
            start and str(start),
            end and str(end),
            args.variant_timeout,
        )
        for label, texts in grid
    ]
    log = SweepLog(Path(args.out) / "sweep.jsonl")
    if args.restart:
        log.path.unlink(missing_ok=True)
    done = len([job for job in jobs if job.key in log.done()])
    runner: SweepRunner = (
        DaskRunner(args.workers, args.scheduler)
        if args.runner == "dask"
        else LocalRunner(args.workers)
    )
    where = f"Dask at {args.scheduler}" if args.scheduler else f"{args.workers} worker(s)"
    console.print(
        f"sweep: {len(jobs)} variants on {where} ({args.runner}), data {spec}"
        + (f"; resuming: {done} already done in {log.path}" if done else f"; log {log.path}")
    )
    progress = progress_bar(console)
    with progress:
        task = progress.add_task("variants", total=len(jobs), completed=done)

        def finished(result: dict) -> None:
            progress.update(task, advance=1, description=result["label"])

        try:
            results = run_sweep(jobs, runner, log, finished)
        except RunnerError as error:
            return _usage(str(error))
        except KeyboardInterrupt:
            kept = len([job for job in jobs if job.key in log.done()])
            print(
                f"rules backtest: sweep interrupted with {kept} of {len(jobs)} variants done "
                f"(kept in {log.path}); run the same command to resume",
                file=sys.stderr,
            )
            return 130
    ranked = rank(results, args.rank)
    console.print(sweep_table(ranked, args.rank))
    failed = [r for r in ranked if "error" in r]
    for r in failed:
        console.print(f"{r['label']}: {r['error']}", markup=False)
    return 1 if len(failed) == len(ranked) else 0


def sweep_table(ranked: list[dict], by: str) -> Table:
    table = Table(title=f"variants ranked by {by}", title_justify="left")
    for column in ("#", "variant", "trades", "total return", "Sharpe", "Sortino", "max DD",
                   "win rate", "profit factor"):  # fmt: skip
        table.add_column(column, justify="left" if column == "variant" else "right")
    for n, r in enumerate((r for r in ranked if "error" not in r), start=1):
        table.add_row(
            str(n),
            r["label"],
            fmt(r["trades"], "{:,.0f}"),
            fmt(r["total_return"], "{:+.2%}"),
            fmt(r["sharpe"], "{:.2f}"),
            fmt(r["sortino"], "{:.2f}"),
            fmt(r["max_drawdown"], "{:.2%}"),
            fmt(r["win_rate"], "{:.1%}"),
            fmt(r["profit_factor"], "{:.2f}"),
        )
    return table


def _usage(message: str) -> int:
    print(f"rules backtest: {message}", file=sys.stderr)
    return 2
