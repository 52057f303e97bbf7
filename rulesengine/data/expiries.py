"""What kind of expiry a contract has, and how many trading sessions are left until it.

- `expiry_cycle`: `monthly` for the standard third-Friday series (the Thursday before when that
  Friday is an exchange holiday, as on Good Friday 2014), `weekly` for other Friday expiries,
  `daily` for the rest (Monday-Thursday series, 0DTE). Derived from the date and the root:
  an index's weekly root (`SPXW`, `SPXPM`...) expiring on the third Friday is not the monthly,
  and equity options, whose weeklies share the root, are told apart by the date alone.
- `trading_dte`: NYSE sessions after the quote date up to and including the expiry day (a
  holiday in between does not count), from exchange-calendars.
- `expiry_week_of_month`: 1 for an expiry in the month's first seven days, ... 5.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

import numpy as np

CYCLES = ("monthly", "weekly", "daily")
WEEKLY_ROOTS = {"SPXW", "SPXPM", "SPXQ", "XSPW", "RUTW", "NDXP", "VIXW", "DJXW", "OEXW"}
DAY = 86_400.0
EPOCH = date(1970, 1, 1)


def _day(seconds: float) -> date:
    return EPOCH + timedelta(days=int(seconds // DAY))


@lru_cache(maxsize=1)
def _calendar():
    import exchange_calendars  # heavy: loaded on first use

    return exchange_calendars.get_calendar("XNYS", start="1990-01-02")


@lru_cache(maxsize=4096)
def _holiday(day: date) -> bool:
    calendar = _calendar()
    if not calendar.first_session.date() <= day <= calendar.last_session.date():
        return False
    return day.weekday() < 5 and not calendar.is_session(day.isoformat())


def third_friday(year: int, month: int) -> date:
    first = date(year, month, 1)
    return first + timedelta(days=(4 - first.weekday()) % 7 + 14)


@lru_cache(maxsize=4096)
def cycle_of(day: date, weekly_root: bool) -> int:
    friday = third_friday(day.year, day.month)
    standard = day == friday or (day == friday - timedelta(days=1) and _holiday(friday))
    if standard and not weekly_root:
        return CYCLES.index("monthly")
    return CYCLES.index("weekly" if day.weekday() == 4 else "daily")


def expiry_cycle(expiry: np.ndarray, root: np.ndarray) -> np.ndarray:
    """Cycle code per row (indexes CYCLES), computed once per distinct (expiry, root)."""
    pairs, inverse = np.unique(
        np.stack([expiry.astype(str), root.astype(str)]), axis=1, return_inverse=True
    )
    codes = np.array(
        [cycle_of(_day(float(e)), r.strip().upper() in WEEKLY_ROOTS) for e, r in pairs.T],
        dtype=np.int8,
    )
    return codes[inverse.reshape(-1)] if len(expiry) else np.zeros(0, np.int8)


def trading_dte(quote_date: np.ndarray, expiry: np.ndarray) -> np.ndarray:
    """Sessions after the quote date through the expiry day; NaN outside the calendar."""
    sessions = _calendar().sessions
    days = sessions.values.astype("datetime64[D]").astype(np.int64) * DAY
    quoted = np.searchsorted(days, quote_date, side="right")
    expires = np.searchsorted(days, expiry, side="right")
    out = (expires - quoted).astype(float)
    outside = (quote_date < days[0]) | (expiry > days[-1])
    out[outside] = np.nan
    return np.maximum(out, 0.0)


def week_of_month(expiry: np.ndarray) -> np.ndarray:
    days = expiry.astype("datetime64[s]").astype("datetime64[D]")
    months = days.astype("datetime64[M]").astype("datetime64[D]")
    return ((days - months).astype(np.int64) // 7 + 1).astype(float)
