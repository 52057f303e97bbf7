"""The outbox: notifications as rows of the journal, so none is lost or sent twice.

The engine queues a row per (event, channel) in the transaction of the tick that caused it:
a crash before the tick commits re-runs the tick, which queues the same ids again (ignored),
and a crash after leaves the rows for the next dispatcher. The dispatcher marks a row sent
the moment its channel accepts it; the one window left (a crash between the channel's
acceptance and that mark) re-sends once with the same id, which JSON webhooks receive as
`id` to drop the repeat.

statuses: queued (waiting or retrying) -> sending (claimed by one dispatcher, so a second
process on the same journal, e.g. `rules notify --send` beside `rules run`, never sends it
too) -> sent | failed (gave up after the attempts allowed) | dropped (its channel was removed
from the rules). A claim left by a dispatcher that died is released after CLAIM_TIMEOUT."""

from __future__ import annotations

import hashlib
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from rulesengine.notify.events import Event

CLAIM_TIMEOUT = 120.0  # seconds: a `sending` row older than this was left by a dead process


@dataclass(frozen=True)
class Queued:
    id: str
    channel: str
    event: str
    severity: str
    at: str
    title: str
    body: str
    attempts: int


class Outbox:
    def __init__(self, db: sqlite3.Connection):
        self.db = db

    def queue(self, channel: str, event: Event, at: datetime) -> bool:
        """Queue `event` for `channel` (not committed: the caller's transaction decides)."""
        key = "|".join((channel, event.name, event.key, at.isoformat()))
        row_id = "n-" + hashlib.sha256(key.encode()).hexdigest()[:14]
        cursor = self.db.execute(
            "INSERT OR IGNORE INTO outbox(id, channel, event, severity, at, title, body, status)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, 'queued')",
            (row_id, channel, event.name, event.severity, at.isoformat(), event.title, event.body),
        )
        return cursor.rowcount == 1

    def due(self, channel: str, now: float, limit: int = 20) -> list[Queued]:
        """The channel's next rows in order, up to the first one still waiting out a backoff
        (a channel's notifications never overtake each other, across restarts too)."""
        rows = self.db.execute(
            "SELECT id, channel, event, severity, at, title, body, attempts, next_try FROM outbox "
            "WHERE channel=? AND status='queued' ORDER BY at, id LIMIT ?",
            (channel, limit),
        ).fetchall()
        due = []
        for row in rows:
            if row[-1] > now:
                break
            due.append(Queued(*row[:-1]))
        return due

    def claim(self, row_id: str, now: float) -> bool:
        """Take a due row for sending; False when another dispatcher has it (or sent it)."""
        cursor = self.db.execute(
            "UPDATE outbox SET status='sending', next_try=? WHERE id=? AND status='queued'",
            (now, row_id),
        )
        return cursor.rowcount == 1

    def release_stale(self, now: float) -> int:
        """Rows a dead dispatcher claimed and never marked: queued again (sent at least once)."""
        cursor = self.db.execute(
            "UPDATE outbox SET status='queued' WHERE status='sending' AND next_try < ?",
            (now - CLAIM_TIMEOUT,),
        )
        return cursor.rowcount

    def now(self) -> int:
        """Every waiting row due at once (`rules notify --send`: the trader asked)."""
        return self.db.execute("UPDATE outbox SET next_try=0 WHERE status='queued'").rowcount

    def channels_waiting(self) -> list[str]:
        rows = self.db.execute("SELECT DISTINCT channel FROM outbox WHERE status='queued'")
        return [row[0] for row in rows.fetchall()]

    def sent(self, row_id: str, attempts: int) -> None:
        self._set(row_id, "sent", attempts, None, 0.0, _stamp())

    def retry(self, row_id: str, attempts: int, error: str, next_try: float) -> None:
        self._set(row_id, "queued", attempts, error, next_try, None)

    def failed(self, row_id: str, attempts: int, error: str) -> None:
        self._set(row_id, "failed", attempts, error, 0.0, None)

    def retry_failed(self) -> int:
        cursor = self.db.execute(
            "UPDATE outbox SET status='queued', attempts=0, next_try=0 WHERE status='failed'"
        )
        return cursor.rowcount

    def drop(self, channel: str, reason: str) -> int:
        cursor = self.db.execute(
            "UPDATE outbox SET status='dropped', error=? WHERE channel=? AND status='queued'",
            (reason, channel),
        )
        return cursor.rowcount

    def counts(self) -> dict[str, dict[str, int]]:
        """channel -> status -> rows."""
        found: dict[str, dict[str, int]] = {}
        for channel, status, n in self.db.execute(
            "SELECT channel, status, COUNT(*) FROM outbox GROUP BY channel, status "
            "ORDER BY channel, status"
        ):
            found.setdefault(channel, {})[status] = n
        return found

    def recent(self, limit: int = 20) -> list[dict[str, Any]]:
        """The latest rows, newest first (for `rules notify` and the API)."""
        cursor = self.db.execute(
            "SELECT id, channel, event, severity, at, title, status, attempts, error, sent_at "
            "FROM outbox ORDER BY at DESC, id LIMIT ?",
            (limit,),
        )
        names = [c[0] for c in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def _set(
        self, row_id: str, status: str, attempts: int, error: str | None, next_try: float, at
    ) -> None:
        self.db.execute(
            "UPDATE outbox SET status=?, attempts=?, error=?, next_try=?, sent_at=? WHERE id=?",
            (status, attempts, error, next_try, at, row_id),
        )


def _stamp() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
