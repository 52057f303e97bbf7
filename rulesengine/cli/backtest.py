"""`rules backtest`: the engine and paper broker over recorded or synthetic chains, measured;
with `--vary`, a grid of variants run in parallel and ranked."""

from __future__ import annotations

import io
import sys
from datetime import date, time
from pathlib import Path

from rich.console import Console

from brokers.paper.settings import SettingsError
from rulesengine.backtest.report import print_report, write_report
from rulesengine.backtest.run import run_backtest
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
        from rulesengine.cli.sweeps import sweep

        return sweep(args, spec, start, end, console)
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


def _usage(message: str) -> int:
    print(f"rules backtest: {message}", file=sys.stderr)
    return 2
