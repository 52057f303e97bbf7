"""Sessions (NYSE holidays, early closes, option closes) and rule schedules."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rulesengine.engine.clock import NEW_YORK, ManualClock
from rulesengine.engine.schedules import CronError, Scheduler, cron_minutes, fire_times
from rulesengine.engine.sessions import Sessions
from rulesengine.language.parser import parse

SESSIONS = Sessions()


def ny(d: date, t: time) -> datetime:
    return datetime.combine(d, t, NEW_YORK)


def schedule(text: str):
    return parse(text, "schedule")


def test_holidays_and_early_closes_come_from_the_exchange_calendar():
    assert SESSIONS.on(date(2011, 1, 17)) is None  # Martin Luther King Jr. Day
    assert SESSIONS.on(date(2024, 12, 25)) is None
    friday = SESSIONS.on(date(2024, 11, 29))  # the day after Thanksgiving
    assert friday.early_close and friday.close.time() == time(13, 0)
    assert friday.options_close("SPX") == ny(date(2024, 11, 29), time(13, 15))
    assert SESSIONS.previous(date(2011, 1, 18)).day == date(2011, 1, 14)


def test_option_session_rules():
    day = SESSIONS.on(date(2011, 1, 3))
    assert day.options_close("SPX") == ny(date(2011, 1, 3), time(16, 15))  # index options
    assert day.options_close("SPX", expiring_pm=True) == ny(date(2011, 1, 3), time(16, 0))
    assert day.options_close("AAPL") == ny(date(2011, 1, 3), time(16, 0))  # equity options
    assert day.window("extended_hours", "SPX")[1].time() == time(16, 15)


def test_fire_times_of_each_kind():
    day = SESSIONS.on(date(2011, 1, 3))
    every = fire_times(schedule("every 5m during regular_hours"), day)
    assert len(every) == 79 and every[0].time() == time(9, 30) and every[-1].time() == time(16)
    assert [t.time() for t in fire_times(schedule("at 10:00, 14:00"), day)] == [
        time(10),
        time(14),
    ]
    between = fire_times(schedule("every 30m between 10:00 and 11:00"), day)
    assert [t.time() for t in between] == [time(10), time(10, 30), time(11)]
    assert fire_times(schedule("before_close 10m"), day)[0].time() == time(15, 50)
    assert fire_times(schedule("after_open 15m"), day)[0].time() == time(9, 45)
    closing = fire_times(schedule("every 15m during closing_hour"), day)
    assert closing[0].time() == time(15) and len(closing) == 5


def test_early_close_moves_before_close():
    day = SESSIONS.on(date(2024, 11, 29))
    assert fire_times(schedule("before_close 10m"), day)[0].time() == time(12, 50)


def test_cron_fields():
    monday, saturday = date(2011, 1, 3), date(2011, 1, 8)
    assert cron_minutes("*/30 9-10 * * mon-fri", monday) == [540, 570, 600, 630]
    assert cron_minutes("*/30 9-10 * * mon-fri", saturday) == []
    assert cron_minutes("0 12 3 * *", monday) == [720]  # day of month
    assert cron_minutes("0 12 15 * 1", monday) == [720]  # either day field matches
    with pytest.raises(CronError, match="5 fields"):
        cron_minutes("* * *", monday)
    with pytest.raises(CronError, match="outside 0-59"):
        cron_minutes("61 * * * *", monday)


def test_due_coalesces_missed_fire_times_and_never_repeats():
    scheduler = Scheduler(SESSIONS)
    at_ten = schedule("at 10:00")
    d1, d2 = date(2011, 1, 3), date(2011, 1, 4)
    assert not scheduler.due(at_ten, None, ny(d1, time(9, 59)))
    assert scheduler.due(at_ten, None, ny(d1, time(15, 45)))  # a daily snapshot after 10:00
    assert not scheduler.due(at_ten, ny(d1, time(15, 45)), ny(d1, time(15, 50)))
    assert scheduler.due(at_ten, ny(d1, time(15, 45)), ny(d2, time(15, 45)))
    # over a holiday weekend the next fire is Tuesday's
    assert not scheduler.due(
        at_ten, ny(date(2011, 1, 14), time(15)), ny(date(2011, 1, 17), time(15))
    )
    assert scheduler.due(None, None, ny(d1, time(3)))  # no schedule: every tick


@given(st.integers(1, 120), st.integers(0, 600))
def test_every_fires_once_per_interval_of_ticks(minutes, offset):
    """Ticking every `minutes` minutes through a session, an `every N` schedule is due at a
    tick exactly when a fire time passed since the previous tick."""
    scheduler = Scheduler(SESSIONS)
    sched = schedule("every 15m during regular_hours")
    day = SESSIONS.on(date(2011, 1, 4))
    fires = fire_times(sched, day)
    clock = ManualClock(day.open + timedelta(seconds=offset))
    last = None
    while clock.now() <= day.close:
        now = clock.now()
        expected = any((last is None or f > last) and f <= now for f in fires)
        if last is None:
            expected = any(f <= now for f in fires)
        assert scheduler.due(sched, last, now) == expected
        last = now
        clock.advance(timedelta(minutes=minutes))


def test_manual_clock_refuses_naive_and_backwards_time():
    clock = ManualClock(ny(date(2011, 1, 3), time(10)))
    with pytest.raises(ValueError, match="timezone-aware"):
        clock.set(datetime(2011, 1, 3, 11))
    with pytest.raises(ValueError, match="backwards"):
        clock.set(ny(date(2011, 1, 3), time(9)))


def test_a_windowed_schedule_never_catches_up_outside_its_window():
    """Issue 12 #7: a daily replay stamps 15:45; `between 10:00 and 15:30` must not run then,
    though its fire times passed earlier that day."""
    scheduler = Scheduler(SESSIONS)
    d = date(2011, 1, 4)
    windowed = schedule("every 30m between 10:00 and 15:30")
    assert not scheduler.due(windowed, None, ny(d, time(15, 45)))
    assert scheduler.due(windowed, None, ny(d, time(15, 30)))
    hour = schedule("every 5m during opening_hour")
    assert not scheduler.due(hour, None, ny(d, time(15, 45)))
    assert scheduler.due(schedule("every 5m during regular_hours"), None, ny(d, time(15, 45)))
    assert scheduler.due(schedule("at 06:30"), None, ny(d, time(6, 30)))  # no window named


def test_closed_reason_names_the_session_edges():
    d = date(2011, 1, 4)
    assert SESSIONS.closed_reason("SPX", ny(d, time(6, 30))) == "06:30 is before the 09:30 open"
    assert SESSIONS.closed_reason("SPX", ny(d, time(16, 10))) is None  # index options: 16:15
    assert SESSIONS.closed_reason("AAPL", ny(d, time(16, 10))) == "16:10 is after the 16:00 close"
    assert "weekend or holiday" in SESSIONS.closed_reason("SPX", ny(date(2011, 1, 8), time(12)))
