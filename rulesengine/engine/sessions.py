"""Market sessions: NYSE days from exchange-calendars, plus the option session rules, and
CME Globex (exchange-calendars' CMES) for equity index futures.

Index options (SPX, NDX, RUT, VIX, XSP...) trade until 16:15 ET, 15 minutes past the equity
close; an expiring PM-settled weekly (SPXW) stops at the equity close; on early-close days
every time moves with the close (13:00, index options 13:15). Equity options stop at the close.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import cache

from brokers.futures import is_future_root
from brokers.occ import is_index
from rulesengine.engine.clock import NEW_YORK

INDEX_EXTRA = timedelta(minutes=15)


@dataclass(frozen=True)
class Session:
    day: date
    open: datetime  # America/New_York
    close: datetime  # the equity close: 16:00, or 13:00 on an early-close day

    @property
    def early_close(self) -> bool:
        return self.close.time() < time(16, 0)

    def options_close(self, underlying: str, expiring_pm: bool = False) -> datetime:
        """When options on `underlying` stop trading this session."""
        if is_index(underlying) and not expiring_pm:
            return self.close + INDEX_EXTRA
        return self.close

    def window(self, name: str, underlying: str = "SPX") -> tuple[datetime, datetime]:
        """A named window of this session (the names a schedule may use after `during`)."""
        midnight = datetime.combine(self.day, time(0), NEW_YORK)
        hour = timedelta(hours=1)
        match name:
            case "regular_hours":
                return self.open, self.close
            case "extended_hours":
                return self.open, self.options_close(underlying)
            case "opening_hour":
                return self.open, self.open + hour
            case "closing_hour":
                return self.close - hour, self.close
            case "all_day":
                return midnight, midnight + timedelta(days=1) - timedelta(microseconds=1)
        raise ValueError(f"unknown session window {name!r}")

    def at(self, minutes: int) -> datetime:
        """This session's day at a wall time in New York (minutes after midnight)."""
        return datetime.combine(self.day, time(minutes // 60, minutes % 60), NEW_YORK)


@cache
def _calendar():
    import exchange_calendars  # imported lazily: building the calendar takes ~0.1 s

    return exchange_calendars.get_calendar("XNYS")


class Sessions:
    """Sessions of the New York Stock Exchange (holidays and early closes included)."""

    def __init__(self) -> None:
        self._cache: dict[date, Session | None] = {}

    def on(self, day: date) -> Session | None:
        """The session held on `day`, or None on a weekend or holiday."""
        if day not in self._cache:
            self._cache[day] = self._load(day)
        return self._cache[day]

    def _load(self, day: date) -> Session | None:
        import pandas as pd

        calendar = _calendar()
        label = pd.Timestamp(day)
        if not (calendar.first_session <= label <= calendar.last_session):
            return _weekday_session(day)  # outside the calendar's range: plain weekdays
        if not calendar.is_session(label):
            return None
        open_ = calendar.session_open(label).to_pydatetime().astimezone(NEW_YORK)
        close = calendar.session_close(label).to_pydatetime().astimezone(NEW_YORK)
        return Session(day, open_, close)

    def current(self, when: datetime) -> Session | None:
        return self.on(when.astimezone(NEW_YORK).date())

    def previous(self, day: date, limit: int = 10) -> Session | None:
        """The last session strictly before `day`."""
        for back in range(1, limit + 1):
            found = self.on(day - timedelta(days=back))
            if found is not None:
                return found
        return None

    def closed_reason(self, underlying: str, when: datetime) -> str | None:
        """Why options on `underlying` (or a futures root's contracts) cannot trade at `when`
        (None: the market is open)."""
        local = when.astimezone(NEW_YORK)
        if is_future_root(underlying):
            return globex_closed(local)
        session = self.current(local)
        if session is None:
            return f"no session on {local:%a %Y-%m-%d} (weekend or holiday)"
        if local < session.open:
            return f"{local:%H:%M} is before the {session.open:%H:%M} open"
        close = session.options_close(underlying)
        if local >= close:
            return f"{local:%H:%M} is after the {close:%H:%M} close"
        return None

    def minutes_to_close(self, when: datetime) -> float:
        """Minutes until today's equity close (0 outside a session)."""
        session = self.current(when)
        if session is None:
            return 0.0
        left = (session.close - when).total_seconds() / 60
        return max(0.0, left)


def globex_closed(local: datetime) -> str | None:
    """Why CME Globex (equity index futures) is closed at `local` (None: open), from
    exchange-calendars' CMES calendar: nearly around the clock, Sunday evening to Friday
    afternoon, closed on its holidays."""
    import pandas as pd

    calendar = _globex()
    minute = pd.Timestamp(local).tz_convert("UTC").floor("min")
    if not (calendar.first_minute <= minute <= calendar.last_minute):
        return None if local.weekday() < 5 else f"Globex closed on {local:%a %Y-%m-%d}"
    if calendar.is_open_on_minute(minute):
        return None
    return f"Globex closed at {local:%a %Y-%m-%d %H:%M} New York time"


@cache
def _globex():
    import exchange_calendars  # lazily, as the NYSE calendar

    return exchange_calendars.get_calendar("CMES")


def _weekday_session(day: date) -> Session | None:
    if day.weekday() >= 5:
        return None
    return Session(
        day,
        datetime.combine(day, time(9, 30), NEW_YORK),
        datetime.combine(day, time(16, 0), NEW_YORK),
    )
