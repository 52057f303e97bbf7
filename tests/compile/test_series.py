"""Series functions: the table agrees with the checker's registry, each kernel agrees with
TA-Lib or a hand computation, and a crossing is an event on one bar."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from rulesengine.analytics import indicators as ind
from rulesengine.check.names import FUNCTIONS
from rulesengine.check.timeframes import DAILY, parse_timeframe
from rulesengine.compile import series
from rulesengine.compile.series import SERIES, Apply, Bar, Lit

talib = pytest.importorskip("talib")


@pytest.fixture(scope="module")
def hlc():
    rng = np.random.default_rng(5)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, 600)))
    high = close * (1 + rng.uniform(0, 0.01, 600))
    low = close * (1 - rng.uniform(0, 0.01, 600))
    return high, low, close


def kernel(name, *args):
    return SERIES[name].kernel(*args)


def same(ours, reference, tol=1e-9):
    assert np.array_equal(np.isnan(ours), np.isnan(reference)), "warm-up differs"
    np.testing.assert_allclose(ours, reference, rtol=0, atol=tol, equal_nan=True)


def test_the_table_and_the_registry_name_the_same_functions():
    bar_functions = {name for name, f in FUNCTIONS.items() if f.reads_bars}
    assert bar_functions == set(SERIES)
    for name in bar_functions:
        params = FUNCTIONS[name].params
        series_params = [p for p in params if p in {"series", "level"}]
        assert list(params[: len(series_params)]) == series_params, "series arguments come first"
        assert not (SERIES[name].inputs and series_params), "implicit inputs or arguments"
        assert SERIES[name].per_year == FUNCTIONS[name].annualised


def test_kernels_against_talib(hlc):
    high, low, close = hlc
    same(kernel("highest", close, 20), talib.MAX(close, 20))
    same(kernel("lowest", close, 20), talib.MIN(close, 20))
    same(kernel("stddev", close, 20), talib.STDDEV(close, 20, 1))
    same(kernel("change_pct", close, 10), talib.ROCP(close, 10))
    same(kernel("cci", high, low, close, 20), talib.CCI(high, low, close, 20), 1e-7)
    same(kernel("macd_signal", close, 12, 26, 9), talib.MACD(close, 12, 26, 9)[1])
    same(kernel("macd_hist", close, 12, 26, 9), talib.MACD(close, 12, 26, 9)[2])
    same(kernel("bb_upper", close, 20, 2.0), talib.BBANDS(close, 20, 2, 2)[0])
    same(kernel("rsi", close, 14), talib.RSI(close, 14))
    same(kernel("atr", high, low, close, 14), talib.ATR(high, low, close, 14))
    # Wilder's average is TA-Lib's ATR recursion applied to any series
    true_range = talib.TRANGE(high, low, close)
    same(kernel("rma", true_range[1:], 14), talib.ATR(high, low, close, 14)[1:])


def test_the_library_indicators_and_annualising_by_timeframe(hlc):
    high, low, close = hlc
    same(kernel("hv_parkinson", high, low, 20), ind.hv_parkinson(high, low, 20))
    same(kernel("atr_distance", high, low, close, 20), ind.atr_distance(high, low, close, 20))
    direction = kernel("supertrend_dir", high, low, close, 10, 3.0)
    assert set(np.unique(direction[np.isfinite(direction)])) <= {-1.0, 1.0}
    stacked = kernel("aligned", close, 5.0, 10.0, 20.0)
    assert np.isnan(stacked[:19]).all() and set(np.unique(stacked[19:])) <= {0.0, 1.0}
    daily = series.evaluate(tree("hv", Bar("close", DAILY), constants=(20,)), lambda b: close)
    five = parse_timeframe("5m")
    intraday = series.evaluate(tree("hv", Bar("close", five), constants=(20,)), lambda b: close)
    assert intraday[-1] == pytest.approx(daily[-1] * np.sqrt(78))  # 78 five-minute bars a day


def test_hand_computed_prev_and_zscore():
    x = np.array([1.0, 2.0, 4.0, 8.0])
    same(kernel("prev", x, 1), np.array([np.nan, 1.0, 2.0, 4.0]))
    window = x[1:]
    expected = (x[-1] - window.mean()) / window.std()
    assert kernel("zscore", x, 3)[-1] == pytest.approx(expected)


def test_a_crossing_is_true_on_the_bar_where_it_happens_only():
    a = np.array([1.0, 2.0, 3.0, 3.5, 2.0, 1.0, 1.0])
    b = np.full(7, 2.0)
    # bar 0 has no bar before it (unknown); bar 1 touches (2 == 2, not above), bar 2 crosses,
    # bars 3.. stay above: no more events
    up, down = kernel("crosses_above", a, b), kernel("crosses_below", a, b)
    assert np.isnan(up[0]) and np.isnan(down[0])
    assert up[1:].tolist() == [0, 1, 0, 0, 0, 0]
    assert down[1:].tolist() == [0, 0, 0, 0, 1, 0]


@given(st.lists(st.floats(-100, 100), min_size=2, max_size=60), st.floats(-100, 100))
def test_crossings_are_the_state_changes_of_above(values, level):
    a = np.array(values)
    above = a > level
    ups = kernel("crosses_above", a, np.full(len(a), level))
    assert np.isnan(ups[0])  # the first bar has no bar before it
    assert (ups[1:].astype(bool) == (above[1:] & ~above[:-1])).all()
    downs = kernel("crosses_below", a, np.full(len(a), level))
    assert not (ups[1:].astype(bool) & downs[1:].astype(bool)).any()


def tree(text_fn, *args, constants=(), tf=DAILY):
    return Apply(text_fn, tuple(args), tuple(float(c) for c in constants))


def test_evaluating_recent_bars_gives_the_full_history_value(hlc):
    high, low, close = hlc
    arrays = {"high": high, "low": low, "close": close}
    for expr in (
        tree("ema", Bar("close", DAILY), constants=(21,)),
        tree("rsi", Bar("close", DAILY), constants=(14,)),
        tree("macd", Bar("close", DAILY), constants=(12, 26, 9)),
        tree("atr", Bar("high", DAILY), Bar("low", DAILY), Bar("close", DAILY), constants=(14,)),
        tree(
            "crosses_above",
            tree("ema", Bar("close", DAILY), constants=(9,)),
            tree("ema", Bar("close", DAILY), constants=(21,)),
        ),
    ):
        full = series.evaluate(expr, lambda bar: arrays[bar.name])
        keep = series.history(expr)
        recent = series.evaluate(expr, lambda bar, k=keep: arrays[bar.name][-k:])
        assert keep < len(close)
        assert recent[-1] == pytest.approx(full[-1], rel=1e-6, abs=1e-9), series.render(expr)


def test_a_constant_level_broadcasts():
    expr = tree("crosses_above", Bar("close", DAILY), Lit(2.0))
    values = series.evaluate(expr, lambda bar: np.array([1.0, 3.0]))
    assert values[1] == 1.0 and np.isnan(values[0])


def test_render_shows_the_timeframe_once():
    five = parse_timeframe("5m")
    expr = tree(
        "crosses_above",
        tree("ema", Bar("close", five), constants=(9,)),
        tree("ema", Bar("close", five), constants=(21,)),
    )
    assert series.render(expr) == "crosses_above(ema(close, 9), ema(close, 21), 5m)"
    assert series.lookback(expr) == 21
