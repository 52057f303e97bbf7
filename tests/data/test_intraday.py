"""Intraday bars: session alignment, bar-close stamps, Globex sessions, tick bars, and the
synthetic intraday market honouring the real daily path."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rulesengine.check.timeframes import DAILY, TimeframeError, parse_timeframe
from rulesengine.data.bars import load_bars
from rulesengine.data.chain import to_seconds
from rulesengine.data.intraday import (
    GLOBEX,
    NEW_YORK,
    IntradayStore,
    MinuteBars,
    MinuteBuilder,
    Trades,
    resample,
    tick_bars,
)
from rulesengine.data.synthetic_intraday import SESSION_MINUTES, day_minutes, intraday_market


def minutes_of(day: date, start: time, count: int, price=None) -> MinuteBars:
    first = datetime.combine(day, start, NEW_YORK).timestamp()
    stamps = first + 60.0 * np.arange(count)
    close = np.arange(count, dtype=float) + 100.0 if price is None else np.asarray(price, float)
    return MinuteBars(stamps, close - 0.5, close + 1.0, close - 1.0, close, np.ones(count))


def at(day: date, hh: int, mm: int) -> float:
    return datetime.combine(day, time(hh, mm), NEW_YORK).timestamp()


DAY = date(2018, 1, 23)


def test_five_minute_bars_align_to_the_open_and_are_stamped_at_their_close():
    bars = resample(minutes_of(DAY, time(9, 30), 390), parse_timeframe("5m"))
    assert len(bars.dates) == 78
    assert bars.dates[0] == at(DAY, 9, 35) and bars.dates[-1] == at(DAY, 16, 0)
    # the first bar: minutes 09:30..09:34 (closes 100..104)
    assert bars.open[0] == 99.5 and bars.close[0] == 104.0
    assert bars.high[0] == 105.0 and bars.low[0] == 99.0 and bars.volume[0] == 5.0


def test_minutes_outside_regular_hours_are_dropped_and_an_hour_bar_ends_at_the_close():
    early = minutes_of(DAY, time(8, 0), 90 + 390 + 60)  # 08:00 .. 17:00
    hourly = resample(early, parse_timeframe("1h"))
    assert hourly.dates[0] == at(DAY, 10, 30) and hourly.dates[-1] == at(DAY, 16, 0)
    assert len(hourly.dates) == 7  # 09:30-10:30 ... 15:30-16:00 (a half bar at the close)
    daily = resample(early, DAILY)
    assert len(daily.dates) == 1 and daily.dates[0] == at(DAY, 16, 0)
    assert daily.open[0] == early.open[90] and daily.close[0] == early.close[90 + 389]


def test_bar_close_semantics_only_complete_bars_are_read():
    store = IntradayStore({"SPX": minutes_of(DAY, time(9, 30), 390)})
    five = parse_timeframe("5m")
    at_0937 = store.at(datetime.combine(DAY, time(9, 37), NEW_YORK)).bars("SPX", five)
    assert at_0937 is not None and len(at_0937.dates) == 1  # 09:35-09:40 is not over
    at_0940 = store.at(datetime.combine(DAY, time(9, 40), NEW_YORK)).bars("SPX", five)
    assert at_0940 is not None and len(at_0940.dates) == 2


def test_futures_bars_follow_the_globex_session():
    # Sunday 18:00 ET opens Monday's session; 17:00-18:00 is the daily break
    sunday = date(2018, 1, 21)
    stream = minutes_of(sunday, time(18, 0), 23 * 60 + 60)  # to Monday 18:00
    bars = resample(stream, parse_timeframe("4h"), GLOBEX)
    monday = date(2018, 1, 22)
    assert bars.dates[0] == at(sunday, 22, 0)
    assert bars.dates[-1] == at(monday, 17, 0)  # the session's last (short) bar ends at 17:00
    daily = resample(stream, DAILY, GLOBEX)
    assert len(daily.dates) == 1  # the 17:00-18:00 break has no trading, Monday 18:00 not in


def test_a_globex_session_across_the_daylight_saving_change():
    sunday = date(2018, 3, 11)  # clocks went forward at 02:00 that morning
    stream = minutes_of(sunday, time(18, 0), 23 * 60)  # Sunday 18:00 to Monday 17:00
    daily = resample(stream, DAILY, GLOBEX)
    assert len(daily.dates) == 1 and daily.dates[0] == at(date(2018, 3, 12), 17, 0)
    four = resample(stream, parse_timeframe("4h"), GLOBEX)
    assert four.dates[0] == at(sunday, 22, 0)


def test_two_dimensional_minutes_resample_per_column():
    one = minutes_of(DAY, time(9, 30), 390)
    two = MinuteBars(
        one.start,
        *(np.stack([getattr(one, f), 2 * getattr(one, f)], axis=1) for f in
          ("open", "high", "low", "close", "volume")),
    )  # fmt: skip
    together = resample(two, parse_timeframe("15m"))
    alone = resample(one, parse_timeframe("15m"))
    np.testing.assert_array_equal(together.close[:, 0], alone.close)
    np.testing.assert_array_equal(together.high[:, 1], 2 * alone.high)


def test_tick_bars_group_trades_and_wait_for_a_full_group():
    trades = Trades(np.arange(10.0), np.array([5, 6, 4, 7, 8, 2, 3, 9, 1, 5.0]), np.ones(10))
    bars = tick_bars(trades, 4)
    assert len(bars.dates) == 2  # trades 8 and 9 are not a bar yet
    assert bars.dates.tolist() == [3.0, 7.0]
    assert bars.open.tolist() == [5, 8] and bars.close.tolist() == [7, 9]
    assert bars.high.tolist() == [7, 9] and bars.low.tolist() == [4, 2]
    store = IntradayStore(trades={"/ES": trades})
    assert store.at(datetime.fromtimestamp(5, NEW_YORK)).bars("/ES", parse_timeframe("4t"))


@pytest.mark.parametrize("text", ["30s", "1w", "90s", "2d"])
def test_timeframes_the_bars_cannot_have(text):
    with pytest.raises(TimeframeError):
        parse_timeframe(text)


@settings(max_examples=40, deadline=None)
@given(
    st.floats(50, 5000),
    st.floats(0.0, 0.05),
    st.floats(0.0, 0.05),
    st.floats(0.0, 1.0),
    st.integers(0, 1000),
)
def test_a_synthetic_day_honours_its_daily_bar(open_, up, down, where_close, seed):
    high, low = open_ * (1 + up), open_ * (1 - down)
    close = low + where_close * (high - low)
    minutes = day_minutes(DAY, (open_, high, low, close, 1e6), seed)
    assert len(minutes) == SESSION_MINUTES
    assert minutes.open[0] == pytest.approx(open_)
    assert minutes.close[-1] == pytest.approx(close)
    assert minutes.high.max() == pytest.approx(high)
    assert minutes.low.min() == pytest.approx(low)


@pytest.fixture(scope="module")
def market():
    spx = load_bars("arch:sp500")
    return intraday_market(spx, "SPX", DAY, DAY + timedelta(days=1), parse_timeframe("5m"))


def test_the_synthetic_market_matches_the_real_day_and_is_deterministic(market):
    spx = market.daily
    i = int(np.searchsorted(spx.dates, to_seconds(DAY)))
    day = resample(market.store.minutes["SPX"], DAILY).until(at(DAY, 16, 0))
    assert day.open[-1] == pytest.approx(spx.open[i]) and day.close[-1] == pytest.approx(
        spx.close[i]
    )
    assert day.high[-1] == pytest.approx(spx.high[i]) and day.low[-1] == pytest.approx(spx.low[i])
    when = datetime.combine(DAY, time(11, 0), NEW_YORK)
    again = intraday_market(spx, "SPX", DAY, DAY + timedelta(days=1), parse_timeframe("5m"))
    later = market.snapshot(datetime.combine(DAY + timedelta(days=1), time(15, 0), NEW_YORK))
    first, second = market.snapshot(when), again.snapshot(when)  # after a later snapshot, too
    assert len(later) > 0
    np.testing.assert_array_equal(first.columns["bid"], second.columns["bid"])
    np.testing.assert_array_equal(first.columns["strike"], second.columns["strike"])
    assert "model-generated" in first.source


def test_the_synthetic_market_prints_trades_for_tick_bars(market):
    trades = market.store.trades["SPX"]
    minutes = market.store.minutes["SPX"]
    assert np.all(np.diff(trades.time) >= 0)
    assert len(trades.time) > 15 * len(minutes)  # ~20 prints a minute
    assert trades.price.min() >= minutes.low.min() and trades.price.max() <= minutes.high.max()
    chain = market.snapshot(datetime.combine(DAY, time(12, 0), NEW_YORK))
    ticks = chain.intraday.bars("SPX", parse_timeframe("512t"))
    assert ticks is not None and len(ticks.dates) > 50
    assert ticks.dates[-1] <= at(DAY, 12, 0)  # only complete bars, as of noon


def test_same_day_options_decay_through_the_session_and_spreads_widen_at_the_close(market):
    def atm_zero_dte(hh, mm):
        chain = market.snapshot(datetime.combine(DAY, time(hh, mm), NEW_YORK))
        puts = chain.columns["type"] == 0
        zero = np.flatnonzero((chain.columns["expiry"] == chain.columns["quote_date"]) & puts)
        spot = chain.columns["underlying_price"][0]
        row = zero[np.argmin(np.abs(chain.columns["strike"][zero] - spot))]
        later = np.flatnonzero((chain.column("dte") > 20) & (chain.column("dte") < 60) & puts)
        spread = chain.columns["ask"][later] - chain.columns["bid"][later]
        return chain.column("extrinsic")[row], float(np.median(spread))

    morning, midday_spread = atm_zero_dte(12, 0)
    late, late_spread = atm_zero_dte(15, 55)
    assert morning > 2 * late > 0  # time value melts into the close
    assert late_spread > 1.5 * midday_spread  # quotes widen into the bell
    # the daily bars a snapshot reads end with the previous session (today's is not over)
    chain = market.snapshot(datetime.combine(DAY, time(10, 0), NEW_YORK))
    assert chain.bars["SPX"].dates[-1] < to_seconds(DAY)


def test_minute_bars_from_a_live_price_stream():
    store = IntradayStore()
    builder = MinuteBuilder(store)
    first = at(DAY, 9, 30)
    prices = [100.0, 101.0, 99.5, 100.5, 102.0, np.nan, 103.0]  # every 20 s; a NaN is no print
    for i, price in enumerate(prices):
        builder.see("SPX", first + 20 * i, price)
    minutes = store.minutes["SPX"]
    # 09:30 (100, 101, 99.5) and 09:31 (100.5, 102, -) are over; 09:32 (103) is still forming
    assert minutes.start.tolist() == [first, first + 60]
    assert minutes.open.tolist() == [100.0, 100.5] and minutes.close.tolist() == [99.5, 102.0]
    assert minutes.high.tolist() == [101.0, 102.0] and minutes.low.tolist() == [99.5, 100.5]
    view = store.at(datetime.fromtimestamp(first + 125, NEW_YORK))
    two = view.bars("SPX", parse_timeframe("2m"))
    assert two is not None and two.close.tolist() == [102.0]  # 09:30-09:32, complete
