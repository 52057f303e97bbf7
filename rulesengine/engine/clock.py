"""Injected clocks: live, replay and tests run the same engine code against different time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

NEW_YORK = ZoneInfo("America/New_York")


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware."""
        ...


class WallClock:
    """Real time, for live trading."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class RehearsalClock:
    """Real time moved to a chosen start: a rehearsal against a sandbox or a local fake broker
    outside market hours runs the session logic as if it were then. Never for live orders."""

    def __init__(self, start: datetime):
        if start.tzinfo is None:
            raise ValueError("clock time must be timezone-aware")
        self._offset = start - datetime.now(UTC)

    def now(self) -> datetime:
        return datetime.now(UTC) + self._offset


class ManualClock:
    """Time that moves only when told: replays set it to each snapshot, tests advance it."""

    def __init__(self, start: datetime):
        if start.tzinfo is None:
            raise ValueError("clock time must be timezone-aware")
        self._now = start

    def now(self) -> datetime:
        return self._now

    def set(self, when: datetime) -> None:
        if when.tzinfo is None:
            raise ValueError("clock time must be timezone-aware")
        if when < self._now:
            raise ValueError(f"time cannot go backwards ({when} < {self._now})")
        self._now = when

    def advance(self, delta: timedelta) -> datetime:
        self.set(self._now + delta)
        return self._now
