"""Report jobs: the daily report after each session and the weekly review, at the times a
portfolio file's `reports:` section gives (New York time), kept in `<data-dir>/reports/` as
text and HTML and sent through `notify` as the `report` event.

A job runs once per period whatever happens: the journal remembers the last fire time
handled, so a restart neither repeats a report nor skips one that fell due while it was
down (it runs late, saying for when)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path

from rulesengine.check.program import JobTime, Program
from rulesengine.engine.clock import NEW_YORK
from rulesengine.engine.journal import Journal
from rulesengine.engine.sessions import Sessions
from rulesengine.notify.events import Event
from rulesengine.reports.daily import daily_report
from rulesengine.reports.render import Report
from rulesengine.reports.review import weekly_review

MAX_CATCH_UP = 14  # days looked back for reports that fell due while the engine was down
DIGIT = re.compile(r"\d")


@dataclass(frozen=True)
class Written:
    job: str
    period: date
    text: Path
    html: Path
    report: Report


class ReportJobs:
    def __init__(
        self,
        journal: Journal,
        data_dir: Path,
        programs: Iterable[Program],
        notify: Callable[[datetime, Event], None] | None = None,
        sessions: Sessions | None = None,
    ):
        self.journal = journal
        self.folder = data_dir / "reports"
        self.notify = notify
        self.sessions = sessions or Sessions()
        self.follow(programs)

    def follow(self, programs: Iterable[Program]) -> None:
        """The rules' report times and strategies (again after a reload)."""
        programs = list(programs)
        self.times: dict[str, JobTime] = {}
        for p in programs:
            if p.kind == "portfolio":
                self.times.update(p.reports)
        self.clauses = {p.name: numeric_clauses(p) for p in programs if p.kind == "strategy"}

    def run_due(self, now: datetime) -> list[Written]:
        """Every report whose time fell in (last handled, now]; the first call starts the
        clock (no history is back-filled)."""
        written = []
        for job, when in self.times.items():
            key = f"reports:{job}:last"
            last_text = self.journal.get(key)
            if last_text is None:
                self.journal.put(key, now.isoformat())
                continue
            last = datetime.fromisoformat(last_text)
            for fire, period in self._fires(job, when, last, now):
                written.append(self._write(job, period, fire))
                self.journal.put(key, fire.isoformat())
        if written:
            self.journal.commit()
        return written

    def _fires(self, job: str, when: JobTime, last: datetime, now: datetime):
        start = max(last.astimezone(NEW_YORK).date(), (now - timedelta(days=MAX_CATCH_UP)).date())
        day = start
        while day <= now.astimezone(NEW_YORK).date():
            fire = datetime.combine(day, time(when.hour, when.minute), NEW_YORK)
            if last < fire <= now and self._fires_on(job, when, day):
                yield fire, day
            day += timedelta(days=1)

    def _fires_on(self, job: str, when: JobTime, day: date) -> bool:
        if job == "daily":
            return self.sessions.on(day) is not None  # a report for each session
        return day.weekday() == when.weekday

    def _write(self, job: str, period: date, fire: datetime) -> Written:
        if job == "daily":
            report = daily_report(self.journal, period)
        else:
            report = weekly_review(self.journal, period, self.clauses)
        self.folder.mkdir(parents=True, exist_ok=True)
        stem = f"{job}-{period.isoformat()}"
        text, html = self.folder / f"{stem}.txt", self.folder / f"{stem}.html"
        text.write_text(report.text(), encoding="utf-8")
        html.write_text(report.html(), encoding="utf-8")
        if self.notify is not None:
            title = f"{report.title}: {report.summary}"
            self.notify(fire, Event("report", "info", title[:200], report.text(), stem))
        return Written(job, period, text, html, report)


def numeric_clauses(program: Program, limit: int = 6) -> list[str]:
    """The strategy's clauses with numbers in them: what a parameter sweep would vary."""
    found = []
    for leg in program.legs:
        if leg.where is not None and DIGIT.search(leg.where.text):
            found.append(f"legs.{leg.name}: {leg.where.text}")
    found += [f"entry: {c.text}" for c in program.entry if DIGIT.search(c.text)]
    found += [f"exit.{name}: {c.text}" for name, c in program.exits.items() if DIGIT.search(c.text)]
    return found[:limit]
