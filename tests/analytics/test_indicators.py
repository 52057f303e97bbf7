"""Indicators against TA-Lib (a test-only dependency) and against hand computations."""

import numpy as np
import pytest

from rulesengine.analytics import indicators as ind

talib = pytest.importorskip("talib")


@pytest.fixture(scope="module")
def bars():
    rng = np.random.default_rng(11)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.012, 800)))
    high = close * (1 + rng.uniform(0, 0.015, 800))
    low = close * (1 - rng.uniform(0, 0.015, 800))
    return high, low, close


def same(ours, reference, tol):
    assert np.array_equal(np.isnan(ours), np.isnan(reference)), "warm-up differs"
    np.testing.assert_allclose(ours, reference, rtol=0, atol=tol, equal_nan=True)


def test_against_talib(bars):
    high, low, close = bars
    same(ind.sma(close, 20), talib.SMA(close, 20), 1e-10)
    same(ind.ema(close, 20), talib.EMA(close, 20), 1e-10)
    same(ind.atr(high, low, close, 14), talib.ATR(high, low, close, 14), 1e-10)
    same(ind.rsi(close, 14), talib.RSI(close, 14), 1e-10)
    upper, middle, lower = talib.BBANDS(close, 20, 2, 2)
    for ours, reference in zip(ind.bollinger(close, 20, 2), (lower, middle, upper), strict=True):
        same(ours, reference, 1e-10)
    for ours, reference in zip(
        ind.macd(close, 12, 26, 9), talib.MACD(close, 12, 26, 9), strict=True
    ):
        same(ours, reference, 1e-10)


def test_symbols_are_columns(bars):
    close = bars[2]
    table = np.stack([close, close * 1.5, close[::-1].copy()], axis=1)
    for fn in (lambda x: ind.ema(x, 10), lambda x: ind.rsi(x, 14), lambda x: ind.hv_close(x, 20)):
        together = fn(table)
        for j in range(table.shape[1]):
            np.testing.assert_allclose(together[:, j], fn(table[:, j]), equal_nan=True)


def test_hand_computed_values():
    x = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    np.testing.assert_allclose(ind.sma(x, 3), [np.nan, np.nan, 2, 3, 4, 5])
    # EMA(3): seed 2, alpha 0.5 -> 3, 4, 5; RMA(3): alpha 1/3 -> 2 + 2/3, ...
    np.testing.assert_allclose(ind.ema(x, 3), [np.nan, np.nan, 2, 3, 4, 5])
    np.testing.assert_allclose(ind.rma(x, 3)[2:4], [2.0, 2.0 + (4 - 2) / 3])
    closes = np.array([100.0, 101.0, 99.0, 102.0])
    returns = np.diff(np.log(closes))
    assert ind.hv_close(closes, 3)[-1] == pytest.approx(np.std(returns, ddof=1) * np.sqrt(252))
    high, low = np.array([11.0, 12.0]), np.array([10.0, 10.0])
    expected = np.sqrt(np.mean(np.log(high / low) ** 2) / (4 * np.log(2)) * 252)
    assert ind.hv_parkinson(high, low, 2)[-1] == pytest.approx(expected)


def test_rsi_extremes():
    assert ind.rsi(np.arange(1.0, 30.0), 14)[-1] == 100.0  # only gains
    assert ind.rsi(np.arange(30.0, 1.0, -1), 14)[-1] == 0.0  # only losses


def supertrend_reference(high, low, close, n, multiplier):
    """The textbook loop, one bar at a time."""
    a = talib.ATR(high, low, close, n)
    line, direction = np.full(len(close), np.nan), np.full(len(close), np.nan)
    upper = lower = trend = None
    for t in range(n, len(close)):
        mid = (high[t] + low[t]) / 2
        bu, bl = mid + multiplier * a[t], mid - multiplier * a[t]
        if trend is None:
            upper, lower = bu, bl
            trend = 1 if close[t] > upper else -1
        else:
            upper = bu if (bu < upper or close[t - 1] > upper) else upper
            lower = bl if (bl > lower or close[t - 1] < lower) else lower
            flips_up, flips_down = close[t] > upper, close[t] < lower
            trend = (1 if flips_up else -1) if trend < 0 else (-1 if flips_down else 1)
        line[t], direction[t] = (lower if trend > 0 else upper), trend
    return line, direction


def test_supertrend_matches_the_textbook_loop(bars):
    high, low, close = bars
    line, direction = ind.supertrend(high, low, close, 10, 3.0)
    ref_line, ref_direction = supertrend_reference(high, low, close, 10, 3.0)
    np.testing.assert_allclose(line, ref_line, atol=1e-10, equal_nan=True)
    np.testing.assert_array_equal(direction, ref_direction)
    assert {-1.0, 1.0} <= set(direction[np.isfinite(direction)])


def test_trend_helpers(bars):
    high, low, close = bars
    rising = np.linspace(50, 150, 300)
    assert ind.aligned(rising)[-1] and not ind.aligned(rising[::-1].copy())[-1]
    distance = ind.atr_distance(high, low, close, 20)
    expected = (close - talib.SMA(close, 20)) / talib.ATR(high, low, close, 20)
    np.testing.assert_allclose(distance, expected, atol=1e-8, equal_nan=True)
    np.testing.assert_allclose(
        ind.average_volume(close, 5), talib.SMA(close, 5), atol=1e-10, equal_nan=True
    )


def test_iv_rank_and_percentile():
    iv = np.array([0.20, 0.30, 0.10, 0.25, 0.15])
    assert ind.iv_rank(iv, 5)[-1] == pytest.approx((0.15 - 0.10) / (0.30 - 0.10))
    assert ind.iv_percentile(iv, 5)[-1] == pytest.approx(1 / 4)  # only 0.10 of the previous 4
    assert np.isnan(ind.iv_rank(iv, 6)).all()


def test_rules_call_atr_and_supertrend_on_real_bars(spx):
    from datetime import date

    from rulesengine.check.checker import check_text
    from rulesengine.compile import compile_program
    from rulesengine.data.bars import load_bars
    from rulesengine.data.chain import to_seconds
    from rulesengine.strategies.scan import scan

    pytest.importorskip("arch")
    stop = "exit:\n  s: pnl <= -$100\n"
    assert (
        check_text(
            "strategy: t\nunderlying:\n  - price > supertrend(10, $3)\nlegs:\n  short: put\n" + stop
        )
        .errors[0]
        .code
        == "E104"
    )
    assert (
        check_text(
            "strategy: t\nunderlying:\n  - atr(close, 14) > $1\nlegs:\n  short: put\n" + stop
        )
        .errors[0]
        .code
        == "E104"
    )
    text = (
        "strategy: t\nunderlying:\n  - price > supertrend(10, 3) and atr(14) > $5\n"
        "legs:\n  short: put where dte between 30 and 60 and bid > 0\n" + stop
    )
    program = check_text(text).program
    day = spx.on(date(2011, 1, 7))
    sp500 = load_bars("arch:sp500")
    day.bars = {"SPX": sp500.until(to_seconds(date(2011, 1, 7)))}
    result = scan(program, compile_program(program), day)
    history = day.bars["SPX"]
    expected_atr = ind.atr(history.high, history.low, history.close, 14)[-1]
    line = ind.supertrend(history.high, history.low, history.close, 10, 3.0)[0][-1]
    trend = next(f for f in result.funnel if f.stage == "underlying")
    assert expected_atr > 5 and day.column("underlying_price")[0] > line
    assert (trend.rows_in, trend.rows_out) == (1, 1) and len(result) > 0
    # the chain's own bars have closes only: the scan says what is missing
    bare = spx.on(date(2011, 1, 7))
    missing = scan(program, compile_program(program), bare).missing
    assert any("atr(14) needs 15+ daily bars of SPX, has 0" in m for m in missing), missing
