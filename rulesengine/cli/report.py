"""`rules report`: the daily report or the weekly review of any journal, now (a backtest's,
or a running engine's), printed and written beside the scheduled ones."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

from rulesengine.engine.journal import Journal
from rulesengine.engine.ruleset import RulesError, load_rules
from rulesengine.engine.session import JOURNAL_FILE
from rulesengine.reports.daily import daily_report
from rulesengine.reports.jobs import numeric_clauses
from rulesengine.reports.render import Report
from rulesengine.reports.review import weekly_review
from rulesengine.reports.trades import ny_date


def run(args) -> int:
    path = Path(args.data_dir) / JOURNAL_FILE
    if not path.exists():
        print(f"rules report: no journal at {path} (`rules run` makes one)", file=sys.stderr)
        return 2
    clauses = {}
    if args.rules:
        try:
            rules = load_rules(args.rules)
        except RulesError as error:
            print(f"rules report: {error}; `rules lint` says where", file=sys.stderr)
            return 1
        clauses = {name: numeric_clauses(c.program) for name, c in rules.strategies.items()}
    journal = Journal(path)
    try:
        try:
            day = date.fromisoformat(args.day) if args.day else _last_day(journal)
        except ValueError:
            print(f"rules report: --day {args.day}: use YYYY-MM-DD", file=sys.stderr)
            return 2
        if day is None:
            print("rules report: the journal has no snapshot yet", file=sys.stderr)
            return 2
        if args.kind == "daily":
            report: Report = daily_report(journal, day)
        else:
            report = weekly_review(journal, day, clauses)
    finally:
        journal.close()
    folder = Path(args.data_dir) / "reports"
    folder.mkdir(exist_ok=True)
    stem = folder / f"{args.kind}-{day.isoformat()}"
    stem.with_suffix(".txt").write_text(report.text(), encoding="utf-8")
    stem.with_suffix(".html").write_text(report.html(), encoding="utf-8")
    print(report.text(), end="")
    print(f"\n(written to {stem}.txt and .html)")
    return 0


def _last_day(journal: Journal) -> date | None:
    row = journal.db.execute("SELECT MAX(at) AS at FROM snapshots").fetchone()
    return ny_date(row["at"]) if row["at"] else None
