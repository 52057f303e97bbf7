"""The daily report and the weekly review against a known journal (the example rules over
the real SPX week), their statistics, and the jobs that run them once per period."""

from __future__ import annotations

from datetime import date, datetime, time
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from rulesengine.check.checker import check_text
from rulesengine.cli.main import main
from rulesengine.engine.clock import NEW_YORK
from rulesengine.engine.journal import Journal
from rulesengine.engine.session import JOURNAL_FILE, summary
from rulesengine.reports.daily import daily_report
from rulesengine.reports.jobs import ReportJobs
from rulesengine.reports.review import mean_interval, weekly_review, wilson

DAYS = [date(2011, 1, d) for d in (3, 4, 5, 6, 7)]


@pytest.fixture
def journal(week_journal):
    j = Journal(week_journal / JOURNAL_FILE)
    yield j
    j.close()


@given(st.integers(0, 200), st.integers(1, 200))
def test_the_wilson_interval_holds_the_observed_rate_inside_zero_to_one(wins, n):
    wins = min(wins, n)
    low, high = wilson(wins, n)
    assert 0.0 <= low <= wins / n <= high <= 1.0


def test_interval_reference_values():
    low, high = wilson(0, 1)
    assert low == 0.0 and high == pytest.approx(0.7935, abs=1e-4)
    assert wilson(50, 100) == pytest.approx((0.4038, 0.5962), abs=1e-4)
    values = [120.0, -300.0, 80.0, 95.0, -40.0]
    mean, lo, hi = mean_interval(values)
    reference = stats.t.interval(0.95, 4, loc=mean, scale=stats.sem(values))
    assert (lo, hi) == pytest.approx(reference)
    assert mean_interval([1.0]) is None


def test_daily_pnl_adds_up_to_the_run_and_trades_match_the_journal(journal):
    reports = [daily_report(journal, day) for day in DAYS]
    pnl = [float(r.sections[0].rows[0][1].replace(",", "")) for r in reports]
    s = summary(journal)
    assert round(sum(pnl), 2) == s["pnl"]  # each day's net-liq change, to the cent
    sixth = reports[3]
    trades = sixth.sections[1].rows
    (closed,) = [p for p in journal.positions() if p.status == "closed"]
    (closing,) = [row for row in trades if row[0] == "closed"]
    assert closing[1] == closed.id and closing[-1] == f"{closed.realised_pnl:+,.2f}"
    assert closing[3].startswith("stop_loss")
    assert sixth.summary.startswith("day P&L") and "1 opened, 1 closed" in sixth.summary
    held = sixth.sections[2].lines[0]
    assert held.startswith("5 open positions")  # held at the 6th's close (one opened on the 7th)


def test_the_report_is_text_and_self_contained_html(journal):
    report = daily_report(journal, DAYS[3])
    text, page = report.text(), report.html()
    assert text.startswith("Daily report 2011-01-06\n")
    for title in ("Account", "Trades", "Open risk", "Breakers", "Top rejection reasons"):
        assert f"\n{title}\n" in text and f"<h2>{title}</h2>" in page
    assert "http" not in page and "<script" not in page


def test_the_review_says_what_it_knows_and_what_it_would_test(journal):
    clauses = {"iron_condor": ["entry: credit >= $1.00"], "bull_put_spread": []}
    review = weekly_review(journal, DAYS[-1], clauses).text()
    assert "iron_condor: 1 closed trades (1 this week)" in review
    assert "win rate 0% (95% interval 0%..79%, 0 of 1)" in review
    assert "stop_loss  1       -480.32" in review
    assert "1 of 30 closed trades: too few to change a parameter on evidence." in review
    assert "would test: entry: credit >= $1.00" in review
    close = review.split("bull_put_spread: close calls this week")[1].split("\n\n")[0]
    assert "leg:short: delta between -0.30 and -0.20" in close  # rejected within 10%


PORTFOLIO = "portfolio: risk\nreports:\n  daily: 16:30\n  review: friday 17:00\n"


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), NEW_YORK)


def jobs_over(tmp_path: Path, journal_path: Path, sent: list) -> ReportJobs:
    program = check_text(PORTFOLIO, "risk.yaml").program
    j = Journal(journal_path)
    return ReportJobs(j, tmp_path, [program], lambda now, event: sent.append((now, event)))


def test_jobs_run_once_per_period_across_restarts_and_catch_up(tmp_path, week_journal):
    copy = tmp_path / "journal.sqlite"
    copy.write_bytes((week_journal / JOURNAL_FILE).read_bytes())
    sent: list = []
    jobs = jobs_over(tmp_path, copy, sent)
    assert jobs.run_due(at(DAYS[0], 15, 45)) == []  # the first call starts the clock
    assert [w.period for w in jobs.run_due(at(DAYS[0], 17))] == [DAYS[0]]
    assert jobs.run_due(at(DAYS[0], 18)) == []  # once
    jobs.journal.close()
    restarted = jobs_over(tmp_path, copy, sent)  # down from the 3rd 18:00 to the 10th 09:00
    written = restarted.run_due(at(date(2011, 1, 10), 9))
    assert [(w.job, w.period) for w in written] == [
        ("daily", DAYS[1]),
        ("daily", DAYS[2]),
        ("daily", DAYS[3]),
        ("daily", DAYS[4]),
        ("review", DAYS[4]),
    ]  # fmt: skip  (no report for the weekend: no session)
    restarted.journal.close()
    assert [event.name for _, event in sent] == ["report"] * 6
    assert sent[-1][1].title.startswith("Weekly review 2011-01-01 .. 2011-01-07")
    assert sorted(p.name for p in (tmp_path / "reports").iterdir())[:2] == [
        "daily-2011-01-03.html",
        "daily-2011-01-03.txt",
    ]


def test_rules_report_prints_and_writes(week_journal, capsys):
    assert main(["report", "daily", "--data-dir", str(week_journal), "--day", "2011-01-06"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Daily report 2011-01-06") and "written to" in out
    assert (week_journal / "reports" / "daily-2011-01-06.html").exists()
    code = main(["report", "review", "--data-dir", str(week_journal), "--rules", "rules"])
    assert code == 0 and "Weekly review 2011-01-01 .. 2011-01-07" in capsys.readouterr().out
    assert main(["report", "daily", "--data-dir", str(week_journal), "--day", "6 jan"]) == 2
    assert "use YYYY-MM-DD" in capsys.readouterr().err


def test_a_replay_writes_each_sessions_report_and_queues_it(tmp_path, capsys):
    from tests.conftest import RULES

    folder = tmp_path / "rules"
    folder.mkdir()
    (folder / "bull_put_spread.yaml").write_text((RULES / "bull_put_spread.yaml").read_text())
    (folder / "risk.yaml").write_text(
        PORTFOLIO + "notify:\n  desk:\n    url: json://127.0.0.1:9/x\n    events: [report]\n"
    )
    data = tmp_path / "data"
    assert main(["run", str(folder), "--data-dir", str(data)]) == 0
    out = capsys.readouterr().out
    assert "report: " in out and "daily-2011-01-07.txt" in out  # the last session's too
    written = sorted(p.name for p in (data / "reports").glob("*.txt"))
    assert written == [f"daily-{d.isoformat()}.txt" for d in DAYS] + ["review-2011-01-07.txt"]
    j = Journal(data / JOURNAL_FILE)
    queued = j.db.execute("SELECT COUNT(*) FROM outbox WHERE event='report'").fetchone()[0]
    j.close()
    assert queued == 6
