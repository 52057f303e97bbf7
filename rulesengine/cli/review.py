"""`rules review`: the weekly review now; `--suggest` proposes parameter changes backed by a
walk-forward sweep; `--apply ID` writes one through the checker and shows the diff."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

from rulesengine.backtest.runners import DaskRunner, LocalRunner, RunnerError, SweepRunner
from rulesengine.backtest.selection import SelectionError, parse_constraint
from rulesengine.backtest.suggest import SuggestError, apply, load, save, suggest
from rulesengine.backtest.walkforward import WalkForwardError, parse_spec, windows
from rulesengine.engine.journal import Journal
from rulesengine.engine.replay import ReplayError, open_replay
from rulesengine.engine.ruleset import RulesError, load_rules
from rulesengine.engine.session import JOURNAL_FILE
from rulesengine.reports.jobs import numeric_clauses
from rulesengine.reports.review import MIN_TRADES, weekly_review
from rulesengine.reports.trades import ny_date

METRICS = ("trades", "total_return", "sharpe", "sortino", "max_drawdown", "win_rate", "expectancy")


def run(args) -> int:
    folder = Path(args.data_dir) / "suggestions"
    try:
        if args.apply:
            return _apply(args, folder)
        rules = load_rules(args.paths)
    except SuggestError as error:
        return _fail(str(error), 1)
    except RulesError as error:
        return _fail(f"{error}; `rules lint` says where", 1)
    closed = _closed_trades(Path(args.data_dir))
    if not args.suggest:
        return _review(args, rules)
    names = [args.strategy] if args.strategy else sorted(rules.strategies)
    unknown = [n for n in names if n not in rules.strategies]
    if unknown:
        return _fail(f"no strategy {unknown[0]!r} in {' '.join(args.paths)}", 2)
    needed = MIN_TRADES if args.min_trades is None else args.min_trades
    ready = []
    for name in names:
        have = closed.get(name, 0)
        if have < needed:
            print(
                f"{name}: {have} of {needed} closed trades in {args.data_dir}: too few "
                "to change a parameter on evidence (--min-trades 0 searches anyway)"
            )
        else:
            ready.append(name)
    if not ready:
        print("0 suggestions; nothing was changed")
        return 0
    try:
        runner, spans, constraints = _plan(args)
    except (ReplayError, WalkForwardError, SelectionError) as error:
        return _fail(str(error), 2)
    found = 0
    for name in ready:
        try:
            verdict = suggest(args.paths, name, args.replay, spans, runner, args.rank, constraints)
        except (SuggestError, RunnerError) as error:
            print(f"{name}: {error}")
            continue
        for line in verdict.lines:
            print(line)
        if verdict.suggestion is not None:
            path = save(verdict.suggestion, folder)
            found += 1
            print(
                f"  saved in {path}; apply with `rules review {' '.join(args.paths)} "
                f"--data-dir {args.data_dir} --apply {verdict.suggestion.id}`"
            )
    print(f"{found} suggestion(s); nothing was changed")  # only --apply writes
    return 0


def _plan(args) -> tuple[SweepRunner, list, list]:
    days = open_replay(args.replay).days()
    if not days:
        raise ReplayError(f"{args.replay} has no quote dates")
    spans = windows(days[0], days[-1], *parse_spec(args.walk_forward))
    constraints = [parse_constraint(c, METRICS) for c in args.require or ()]
    runner: SweepRunner = (
        DaskRunner(args.workers, None) if args.runner == "dask" else LocalRunner(args.workers)
    )
    return runner, spans, constraints


def _apply(args, folder: Path) -> int:
    suggestion = load(folder, args.apply)
    path, diff = apply(suggestion, args.paths)
    print(diff, end="")
    print(
        f"{path}: {suggestion.change} applied ({suggestion.describe()}); a running engine "
        "hot-reloads it"
    )
    return 0


def _review(args, rules) -> int:
    path = Path(args.data_dir) / JOURNAL_FILE
    if not path.exists():
        return _fail(f"no journal at {path} (`rules run` makes one)", 2)
    journal = Journal(path)
    try:
        row = journal.db.execute("SELECT MAX(at) AS at FROM snapshots").fetchone()
        end = (ny_date(row["at"]) if row["at"] else None) or date.today()
        clauses = {n: numeric_clauses(c.program) for n, c in rules.strategies.items()}
        print(weekly_review(journal, end, clauses).text(), end="")
    finally:
        journal.close()
    return 0


def _closed_trades(data_dir: Path) -> dict[str, int]:
    path = data_dir / JOURNAL_FILE
    if not path.exists():
        return {}
    journal = Journal(path)
    try:
        rows = journal.db.execute(
            "SELECT strategy, COUNT(*) AS n FROM positions WHERE status='closed' GROUP BY strategy"
        ).fetchall()
    finally:
        journal.close()
    return {r["strategy"]: r["n"] for r in rows}


def _fail(message: str, code: int) -> int:
    print(f"rules review: {message}", file=sys.stderr)
    return code
