"""What a tick leaves behind: decisions and alerts in the journal, counts in the tick report."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from rulesengine.engine.journal import Journal
from rulesengine.engine.ruleset import Compiled
from rulesengine.engine.tally import ClauseTally
from rulesengine.notify import events
from rulesengine.notify.notices import Notices

log = logging.getLogger("rulesengine.engine")


@dataclass
class TickReport:
    at: datetime
    entries: int = 0
    exits: int = 0
    rolls: int = 0
    trips: list[str] = field(default_factory=list)
    decisions: int = 0
    checks: ClauseTally = field(default_factory=ClauseTally)  # for `rules test --coverage`
    # what scans could not read ("ema(close, 9, 5m) needs 22+ 5m bars of SPX, has 3"), by strategy
    missing: dict[str, list[str]] = field(default_factory=dict)


class Recorder:
    """Writes every decision with its reason, and alerts (once per message) to the journal."""

    def __init__(self, journal: Journal, say: Callable[[str], None]):
        self.journal = journal
        self.say = say
        self.report = TickReport(datetime.min)
        self.notices: Notices | None = None  # notifications on (`rules run`); off in backtests

    def start(self, now: datetime) -> TickReport:
        self.report = TickReport(now)
        return self.report

    def decide(
        self,
        now: datetime,
        compiled: Compiled | None,
        kind: str,
        subject: str,
        outcome: str,
        reason: str,
        detail: dict[str, Any] | None = None,
    ) -> None:
        self.provisional(now, compiled, kind, subject, outcome, reason, detail)
        self.report.decisions += 1  # (a provisional write of the same decision is replaced)
        if self.notices is not None:
            strategy = compiled.name if compiled else "engine"
            event = events.from_decision(strategy, kind, subject, outcome, reason, detail)
            self.notices.queue(now, event)

    def provisional(
        self,
        now: datetime,
        compiled: Compiled | None,
        kind: str,
        subject: str,
        outcome: str,
        reason: str,
        detail: dict[str, Any] | None = None,
    ) -> None:
        """Write a decision ahead of its order, uncommitted and uncounted: the desk commits it
        with the order intent in one transaction, so no crash can leave an order without
        the decision that explains it. The final `decide` (same time, kind and subject)
        replaces it."""
        version = compiled.version if compiled else None
        strategy = compiled.name if compiled else "engine"
        self.journal.decide(now, strategy, version, kind, subject, outcome, reason, detail)

    def alert(self, now: datetime, level: str, message: str, severity: str | None = None) -> None:
        if self.journal.alert(now, level, message):
            log.warning(message)
            self.say(f"[{level}] {message}")
            self.notify(now, events.from_alert(level, message, severity))

    def notify(self, now: datetime, event: events.Event) -> None:
        if self.notices is not None:
            self.notices.queue(now, event)
