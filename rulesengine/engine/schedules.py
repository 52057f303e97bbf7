"""When a rule schedule fires: `every 5m during regular_hours`, `at 10:00, 14:00`,
`before_close 10m`, `after_open 15m`, `cron "*/5 9-15 * * mon-fri"`.

A schedule is *due* at `now` when one of its fire times lies in (last evaluation, now]. Missed
fire times coalesce into one evaluation: a replay of daily snapshots evaluates each schedule
that fired during the day once, on that day's snapshot, but only while `now` is still inside
the window the schedule names (`between 10:00 and 15:30`, `during opening_hour`): a scan
restricted to a window never runs outside it, caught up or not.
"""

from __future__ import annotations

import bisect
from datetime import date, datetime, timedelta

from rulesengine.engine.clock import NEW_YORK
from rulesengine.engine.sessions import Session, Sessions
from rulesengine.language import ast

LOOKBACK_SESSIONS = 5  # how far back `due` looks for the last fire time
_CRON_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")  # cron numbers them 0-6


class CronError(ValueError):
    pass


def _cron_field(text: str, low: int, high: int, names: tuple[str, ...] = ()) -> frozenset[int]:
    """One cron field ('*', '*/5', '9-15', '1,3,5', 'mon-fri') as the set of values it allows."""
    values: set[int] = set()
    for part in text.lower().split(","):
        body, _, step_text = part.partition("/")
        step = int(step_text) if step_text else 1
        if body == "*":
            start, end = low, high
        else:
            first, _, last = body.partition("-")
            start = _cron_value(first, names, low)
            end = _cron_value(last, names, low) if last else (high if step_text else start)
        if not (low <= start <= high and low <= end <= high) or step < 1:
            raise CronError(f"cron field {text!r} is outside {low}-{high}")
        values.update(range(start, end + 1, step))
    return frozenset(values)


def _cron_value(text: str, names: tuple[str, ...], low: int) -> int:
    if text in names:
        return names.index(text) + low
    try:
        return int(text)
    except ValueError:
        raise CronError(f"cron value {text!r} is not a number or a name") from None


def cron_minutes(expression: str, day: date) -> list[int]:
    """Minutes after midnight (New York) at which a 5-field cron expression fires on `day`.

    Day of month and day of week combine as in Vixie cron: either matches when both are set."""
    fields = expression.split()
    if len(fields) != 5:
        raise CronError(f"cron {expression!r} needs 5 fields: minute hour day month weekday")
    minute, hour, dom, month, dow = fields
    minutes = _cron_field(minute, 0, 59)
    hours = _cron_field(hour, 0, 23)
    days = _cron_field(dom, 1, 31)
    months = _cron_field(month, 1, 12)
    weekdays = {d % 7 for d in _cron_field(dow, 0, 7, _CRON_DAYS)}  # 0 and 7 are Sunday
    if day.month not in months:
        return []
    cron_weekday = (day.weekday() + 1) % 7
    day_ok = day.day in days
    weekday_ok = cron_weekday in weekdays
    both_set = dom != "*" and dow != "*"
    if not ((day_ok or weekday_ok) if both_set else (day_ok and weekday_ok)):
        return []
    return sorted(h * 60 + m for h in hours for m in minutes)


def fire_times(schedule: ast.Schedule, session: Session, underlying: str = "SPX") -> list[datetime]:
    """Every time the schedule fires during one session, in order."""
    start, end = session.window(schedule.window or "regular_hours", underlying)
    if schedule.between is not None:
        start, end = session.at(schedule.between[0]), session.at(schedule.between[1])
    match schedule.kind:
        case "every":
            step = timedelta(seconds=max(schedule.interval_s, 1.0))
            out, t = [], start
            while t <= end:
                out.append(t)
                t += step
            return out
        case "at":
            times = [session.at(m) for m in schedule.times]
            if schedule.window is not None:
                times = [t for t in times if start <= t <= end]
            return sorted(times)
        case "before_close":
            return [session.close - timedelta(seconds=schedule.interval_s)]
        case "after_open":
            return [session.open + timedelta(seconds=schedule.interval_s)]
        case "cron":
            return [session.at(m) for m in cron_minutes(schedule.cron, session.day)]
    raise ValueError(f"unknown schedule kind {schedule.kind!r}")


class Scheduler:
    """Answers `is this schedule due now?`, caching each session's fire times."""

    def __init__(self, sessions: Sessions):
        self.sessions = sessions
        self._times: dict[tuple[ast.Schedule, date], list[datetime]] = {}

    def _times_on(self, schedule: ast.Schedule, session: Session) -> list[datetime]:
        key = (schedule, session.day)
        if key not in self._times:
            self._times[key] = fire_times(schedule, session)
        return self._times[key]

    def last_fire(self, schedule: ast.Schedule, now: datetime) -> datetime | None:
        """The latest fire time at or before `now`, looking back a few sessions."""
        day = now.astimezone(NEW_YORK).date()
        session = self.sessions.on(day)
        for _ in range(LOOKBACK_SESSIONS):
            if session is not None:
                times = self._times_on(schedule, session)
                i = bisect.bisect_right(times, now)
                if i:
                    return times[i - 1]
            session = self.sessions.previous(session.day if session else day)
            if session is None:
                return None
            day = session.day
        return None

    def inside(self, schedule: ast.Schedule, now: datetime) -> bool:
        """True when `now` is inside the window the schedule names (always, when it names
        none: `at 06:30` runs at 06:30, and the market session decides what it may do)."""
        if schedule.between is None and schedule.window is None:
            return True
        session = self.sessions.current(now)
        if session is None:
            return False
        start, end = session.window(schedule.window or "regular_hours")
        if schedule.between is not None:
            start, end = session.at(schedule.between[0]), session.at(schedule.between[1])
        return start <= now.astimezone(NEW_YORK) <= end

    def due(self, schedule: ast.Schedule | None, last: datetime | None, now: datetime) -> bool:
        """True when a fire time lies in (last, now]; without a schedule, every tick is due.

        A first evaluation (`last` None) counts fire times since the start of today."""
        if schedule is None:
            return True
        if not self.inside(schedule, now):
            return False
        fired = self.last_fire(schedule, now)
        if fired is None:
            return False
        if last is None:
            return fired.astimezone(NEW_YORK).date() == now.astimezone(NEW_YORK).date()
        return fired > last
