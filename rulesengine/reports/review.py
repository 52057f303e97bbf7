"""The weekly post-trade review, per strategy: what the closed trades say, with the
uncertainty that comes with few of them.

Win rate with a Wilson 95% interval, expectancy with a Student-t 95% interval, exits by
reason, fills against the mid, maximum adverse and favourable excursions, and what stopped
candidates this week. Parameter changes need evidence out of sample: below MIN_TRADES closed
trades the review names what it would test; from there `rules review --suggest` runs the
walk-forward sweep. Nothing here changes a rule file."""

from __future__ import annotations

import json
import math
import statistics
from collections import Counter
from datetime import date, timedelta

from scipy import stats

from rulesengine.backtest.rejections import rejected_candidates
from rulesengine.engine.journal import Journal
from rulesengine.reports.render import Report, Section, money
from rulesengine.reports.trades import Trade, exit_kind, ny_date

MIN_TRADES = 30  # closed trades before a parameter change is worth testing
Z95 = 1.959964


def wilson(wins: int, n: int) -> tuple[float, float]:
    """The Wilson score 95% interval of a win rate (sound at small n and near 0 or 1)."""
    if n == 0:
        return 0.0, 1.0
    p = wins / n
    centre = (p + Z95**2 / (2 * n)) / (1 + Z95**2 / n)
    half = Z95 * math.sqrt(p * (1 - p) / n + Z95**2 / (4 * n * n)) / (1 + Z95**2 / n)
    # the interval always holds p; round-off must not push p = 1 (or 0) outside it
    return max(0.0, min(p, centre - half)), min(1.0, max(p, centre + half))


def mean_interval(values: list[float]) -> tuple[float, float, float] | None:
    """The mean and its Student-t 95% interval; None below two values."""
    if len(values) < 2:
        return None
    mean = statistics.fmean(values)
    half = float(stats.t.ppf(0.975, len(values) - 1)) * statistics.stdev(values)
    half /= math.sqrt(len(values))
    return mean, mean - half, mean + half


def weekly_review(journal: Journal, end: date, strategies: dict[str, list[str]]) -> Report:
    """`strategies`: each strategy's numeric clauses (what a sweep would vary)."""
    week = (end - timedelta(days=6), end)
    trades = [Trade(p) for p in journal.positions() if p.status == "closed"]
    trades = [t for t in trades if t.closed is not None and t.closed <= end]
    names = sorted({t.strategy for t in trades} | set(strategies))
    this_week = [t for t in trades if week[0] <= t.closed <= week[1]]  # type: ignore[operator]
    summary = (
        f"{len(this_week)} trades closed this week, {money(sum(t.realised for t in this_week))}; "
        f"{len(trades)} closed to date"
    )
    report = Report(f"Weekly review {week[0].isoformat()} .. {week[1].isoformat()}", summary)
    rejected = _rejections(journal, week)
    close = _near_misses(journal, week)
    for name in names:
        mine = [t for t in trades if t.strategy == name]
        sections = _strategy(name, mine, week, rejected.get(name, []), strategies.get(name, []))
        sections.insert(-1, _close_calls(name, close.get(name, [])))  # before the next step
        report.sections += sections
    return report


def _strategy(
    name: str, trades: list[Trade], week: tuple[date, date], rejected, clauses: list[str]
) -> list[Section]:
    n = len(trades)
    recent = [t for t in trades if t.closed and week[0] <= t.closed <= week[1]]
    head = Section(f"{name}: {n} closed trades ({len(recent)} this week)")
    if n == 0:
        head.lines.append("no closed trades yet")
        return [head, _next_step(name, n, clauses)]
    pnl = [t.realised for t in trades]
    wins = sum(1 for v in pnl if v > 0)
    low, high = wilson(wins, n)
    head.lines.append(
        f"win rate {100 * wins / n:.0f}% (95% interval {100 * low:.0f}%..{100 * high:.0f}%, "
        f"{wins} of {n})"
    )
    interval = mean_interval(pnl)
    if interval is None:
        head.lines.append(f"expectancy {money(pnl[0])} per trade (one trade: no interval)")
    else:
        mean, lo, hi = interval
        verdict = "above zero" if lo > 0 else "below zero" if hi < 0 else "not yet told from zero"
        head.lines.append(
            f"expectancy {money(mean)} per trade (95% interval {money(lo)}..{money(hi)}: {verdict})"
        )
    gains = sum(v for v in pnl if v > 0)
    losses = -sum(v for v in pnl if v < 0)
    if losses > 0:
        head.lines.append(f"profit factor {gains / losses:.2f}; total {money(sum(pnl))}")
    exits = Counter(exit_kind(t.position.exit_reason) for t in trades)
    by_reason = Section(
        f"{name}: exits by reason",
        ("exit", "trades", "realised", "mean"),
        [
            (
                kind,
                str(count),
                money(sum(t.realised for t in trades if exit_kind(t.position.exit_reason) == kind)),
                money(
                    statistics.fmean(
                        t.realised for t in trades if exit_kind(t.position.exit_reason) == kind
                    )
                ),
            )
            for kind, count in exits.most_common()
        ],
    )
    return [
        head,
        by_reason,
        _fills(name, trades),
        _rejected(name, rejected),
        _next_step(name, n, clauses),
    ]


def _fills(name: str, trades: list[Trade]) -> Section:
    entry = [v for t in trades if (v := t.entry_slippage()) is not None]
    exit_ = [v for t in trades if (v := t.exit_slippage()) is not None]
    mae = [v for t in trades if (v := t.mae()) is not None]
    mfe = [v for t in trades if (v := t.mfe()) is not None]
    rows = [
        ("entry fill vs mid ($ per trade)", _mean(entry), str(len(entry))),
        ("exit fill vs mid ($ per trade)", _mean(exit_), str(len(exit_))),
        ("max adverse excursion ($)", _mean(mae), str(len(mae))),
        ("max favourable excursion ($)", _mean(mfe), str(len(mfe))),
    ]
    return Section(f"{name}: fills and excursions (means)", ("", "mean", "trades"), rows)


def _mean(values: list[float]) -> str:
    return money(statistics.fmean(values)) if values else "-"


def _rejections(journal: Journal, week: tuple[date, date]) -> dict[str, list[tuple[str, int]]]:
    counts = rejected_candidates(journal, lambda at: _within(ny_date(at), week))
    found: dict[str, list[tuple[str, int]]] = {}
    for (strategy, reason), n in counts.most_common():
        found.setdefault(strategy, []).append((reason, n))
    return found


def _near_misses(journal: Journal, week: tuple[date, date]) -> dict[str, list[tuple[str, int]]]:
    """Per strategy, the clauses whose scans this week rejected rows within 10% of the
    threshold (`near` in each scan's funnel), most first."""
    counts: Counter[tuple[str, str]] = Counter()
    for row in journal.decisions_of("scan"):
        if not _within(ny_date(row["at"]), week):
            continue
        for step in json.loads(row["detail"] or "{}").get("funnel", []):
            if step.get("near"):
                counts[(row["strategy"], f"{step['stage']}: {step['clause']}")] += step["near"]
    found: dict[str, list[tuple[str, int]]] = {}
    for (strategy, clause), n in counts.most_common():
        found.setdefault(strategy, []).append((clause, n))
    return found


def _close_calls(name: str, close: list[tuple[str, int]]) -> Section:
    rows = [(clause, str(n)) for clause, n in close[:5]]
    return Section(
        f"{name}: close calls this week (rejected within 10% of the threshold)",
        ("clause", "rows"),
        rows,
        empty="none: no clause rejected anything near its threshold",
    )


def _rejected(name: str, rejected: list[tuple[str, int]]) -> Section:
    rows = [(reason, str(n)) for reason, n in rejected[:5]]
    return Section(f"{name}: what stopped candidates this week", ("reason", "candidates"), rows)


def _next_step(name: str, n: int, clauses: list[str]) -> Section:
    section = Section(f"{name}: next step")
    if n < MIN_TRADES:
        section.lines.append(
            f"{n} of {MIN_TRADES} closed trades: too few to change a parameter on evidence."
        )
        if clauses:
            section.lines.append("With enough trades the review would test: " + "; ".join(clauses))
        return section
    section.lines.append(
        "enough trades to test changes out of sample: `rules review RULES --suggest` runs a "
        "walk-forward sweep over: " + ("; ".join(clauses) or "the strategy's numbers")
    )
    return section


def _within(day: date | None, week: tuple[date, date]) -> bool:
    return day is not None and week[0] <= day <= week[1]
