"""`rules backtest --vary ...`: a sweep (every point of the grid, or `--search random:N`),
ranked with `--rank` within `--require` constraints, or walk-forward validated
(`--walk-forward train=6m,test=1m`). Runs on `--runner local|dask`; resumes from its log."""

from __future__ import annotations

import csv
import math
import sys
from datetime import date
from pathlib import Path

from rich.console import Console
from rich.table import Table

from rulesengine.backtest.heatmap import write_heatmap
from rulesengine.backtest.report import fmt
from rulesengine.backtest.runners import DaskRunner, LocalRunner, RunnerError, SweepRunner
from rulesengine.backtest.search import bayes_search
from rulesengine.backtest.selection import (
    Constraint,
    SelectionError,
    parse_constraint,
    parse_search,
    rank,
    sample,
)
from rulesengine.backtest.sweep import Job, SweepError, SweepLog, parse_axis, run_sweep, variants
from rulesengine.backtest.walkforward import (
    Step,
    WalkForwardError,
    parse_spec,
    summary,
    walk_forward,
    windows,
)
from rulesengine.cli.progress import progress_bar
from rulesengine.engine.replay import open_replay

METRICS = (
    "trades", "total_return", "annualised_return", "sharpe", "sortino", "max_drawdown",
    "max_drawdown_days", "win_rate", "profit_factor", "expectancy", "exposure",
)  # fmt: skip


def sweep(args, spec: str, start: date | None, end: date | None, console: Console) -> int:
    try:
        axes = [parse_axis(v) for v in args.vary]
        grid = variants(args.paths, axes)
        search = parse_search(args.search)
        constraints = [parse_constraint(c, METRICS) for c in args.require or ()]
        plan = parse_spec(args.walk_forward) if args.walk_forward else None
    except (SweepError, SelectionError, WalkForwardError) as error:
        return _usage(str(error))
    if search is not None and search.kind == "random":
        grid = sample(grid, search.trials, search.seed)
    first, last = (str(start) if start else None), (str(end) if end else None)
    jobs = [
        Job(label, tuple(sorted(t.items())), spec, first, last, args.variant_timeout)
        for label, t in grid
    ]
    runner: SweepRunner = (
        DaskRunner(args.workers, args.scheduler)
        if args.runner == "dask"
        else LocalRunner(args.workers)
    )
    try:
        if plan is not None:
            return _walk_forward(args, jobs, spec, start, end, plan, runner, constraints, console)
        return _grid(args, jobs, spec, runner, constraints, console, axes, search)
    except RunnerError as error:
        return _usage(str(error))


def _grid(args, jobs, spec, runner, constraints, console: Console, axes, search) -> int:
    log = SweepLog(Path(args.out) / "sweep.jsonl")
    if args.restart:
        log.path.unlink(missing_ok=True)
    logged = log.done()  # read once: a key per job is looked up in it
    done = len([job for job in jobs if job.key in logged])
    bayes = search is not None and search.kind == "bayes"
    size = (
        f"{search.trials} Bayesian trials over {len(jobs)} points"
        if bayes
        else f"{len(jobs)} variants"
    )
    console.print(
        f"sweep: {size} on {_where(args)}, data {spec}"
        + (f"; resuming: {done} already done in {log.path}" if done else f"; log {log.path}")
    )
    progress = progress_bar(console)
    with progress:
        total = search.trials if bayes else len(jobs)
        task = progress.add_task("variants", total=total, completed=0 if bayes else done)

        def finished(result: dict) -> None:
            progress.update(task, advance=1, description=result["label"])

        try:
            if bayes:
                results = bayes_search(
                    axes, jobs, runner, args.rank, search.trials, search.seed, constraints, log,
                    finished,
                )  # fmt: skip
            else:
                results = run_sweep(jobs, runner, log, finished)
        except SelectionError as error:
            return _usage(str(error))
        except KeyboardInterrupt:
            logged = log.done()
            kept = len([job for job in jobs if job.key in logged])
            print(
                f"rules backtest: sweep interrupted with {kept} of {len(jobs)} variants done "
                f"(kept in {log.path}); run the same command to resume",
                file=sys.stderr,
            )
            return 130
    ranked = rank(results, args.rank, constraints)
    console.print(sweep_table(ranked, args.rank, constraints))
    picture = write_heatmap(results, args.rank, Path(args.out) / "sweep_heatmap.png")
    if picture is not None:
        console.print(f"heat map: {picture}", markup=False)
    for r in ranked:
        if "error" in r:
            console.print(f"{r['label']}: {r['error']}", markup=False)
    return 1 if all("error" in r for r in ranked) else 0


def _where(args) -> str:
    return (
        f"Dask at {args.scheduler}"
        if args.scheduler
        else f"{args.workers} worker(s) ({args.runner})"
    )


def sweep_table(ranked: list[dict], by: str, constraints: list[Constraint] | None = None) -> Table:
    title = f"variants ranked by {by}"
    if constraints:
        title += " within " + ", ".join(c.text for c in constraints)
    table = Table(title=title, title_justify="left")
    for column in ("#", "variant", "trades", "total return", "Sharpe", "Sortino", "max DD",
                   "win rate", "profit factor", "fails"):  # fmt: skip
        table.add_column(column, justify="left" if column in {"variant", "fails"} else "right")
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
            ", ".join(r.get("failed", ())),
        )
    return table


def _walk_forward(args, jobs, spec, start, end, plan, runner, constraints, console) -> int:
    days = open_replay(spec).between(start, end).days()
    if not days:
        return _usage(f"{spec} has no quote dates between {start} and {end}")
    try:
        spans = windows(days[0], days[-1], *plan)
    except WalkForwardError as error:
        return _usage(str(error))
    console.print(
        f"walk-forward: {len(spans)} windows x {len(jobs)} variants on {_where(args)}, data "
        f"{spec}, choosing by {args.rank}"
        + (" within " + ", ".join(c.text for c in constraints) if constraints else "")
    )

    def said(step: Step) -> None:
        console.print(
            f"  train {step.window.train[0]}..{step.window.train[1]}  test "
            f"{step.window.test[0]}..{step.window.test[1]}  chose {step.chosen or 'nothing'}  "
            f"in-sample {_number(step.in_sample)}  out-of-sample {_number(step.out_of_sample)}",
            markup=False,
        )

    steps = walk_forward(jobs, spans, runner, args.rank, constraints, said)
    totals = summary(steps)
    console.print(
        f"walk-forward {args.rank}: in-sample {_number(totals['in_sample'])}, out-of-sample "
        f"{_number(totals['out_of_sample'])}, efficiency {_number(totals['efficiency'])} "
        f"({int(totals['chosen'])} of {int(totals['windows'])} windows chose a variant)",
        markup=False,
    )
    path = Path(args.out) / "walk_forward.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["train_start", "train_end", "test_start", "test_end", "chosen",
                         f"in_sample_{args.rank}", f"out_of_sample_{args.rank}"])  # fmt: skip
        for s in steps:
            writer.writerow([*s.window.train, *s.window.test, s.chosen or "",
                             _number(s.in_sample), _number(s.out_of_sample)])  # fmt: skip
    console.print(f"windows: {path}", markup=False)
    return 0


def _number(value: float) -> str:
    return "n/a" if value is None or not math.isfinite(value) else f"{value:.3g}"


def _usage(message: str) -> int:
    print(f"rules backtest: {message}", file=sys.stderr)
    return 2
