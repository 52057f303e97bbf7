"""Black-Scholes-Merton prices and greeks: QuantLib to 1e-9, parity, and greeks as derivatives."""

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rulesengine.analytics.bsm import bsm_greeks, bsm_price

ql = pytest.importorskip("QuantLib")

GRID = list(
    itertools.product(
        (True, False),  # call, put
        (0.0, 0.03),  # dividend yield
        (1, 30, 365, 1095),  # days: 1 day to 3 years
        (0.05, 0.25, 2.0),  # vol 5% to 200%
        (80.0, 100.0, 125.0),  # strike around spot 100
    )
)


def _flat(today, rate, dc):
    return ql.YieldTermStructureHandle(ql.FlatForward(today, rate, dc))


def quantlib(is_call, q, days, vol, strike, spot=100.0, rate=0.04):
    today = ql.Date(2, 1, 2024)
    ql.Settings.instance().evaluationDate = today
    dc = ql.Actual365Fixed()
    vol_ts = ql.BlackVolTermStructureHandle(ql.BlackConstantVol(today, ql.NullCalendar(), vol, dc))
    process = ql.BlackScholesMertonProcess(
        ql.QuoteHandle(ql.SimpleQuote(spot)), _flat(today, q, dc), _flat(today, rate, dc), vol_ts
    )
    kind = ql.Option.Call if is_call else ql.Option.Put
    option = ql.EuropeanOption(
        ql.PlainVanillaPayoff(kind, strike), ql.EuropeanExercise(today + days)
    )
    option.setPricingEngine(ql.AnalyticEuropeanEngine(process))
    return option


@pytest.mark.parametrize(("is_call", "q", "days", "vol", "strike"), GRID)
def test_matches_quantlib(is_call, q, days, vol, strike):
    ref = quantlib(is_call, q, days, vol, strike)
    g = bsm_greeks(100.0, strike, days / 365, vol, 0.04, q, is_call)
    expected = {
        "price": ref.NPV(),
        "delta": ref.delta(),
        "gamma": ref.gamma(),
        "vega": ref.vega() / 100,  # ours per vol point
        "theta": ref.theta() / 365,  # ours per calendar day
        "rho": ref.rho() / 100,  # ours per rate point
    }
    for name, value in expected.items():
        assert float(getattr(g, name)) == pytest.approx(value, rel=1e-9, abs=1e-9), name


inputs = st.tuples(
    st.floats(50, 150),
    st.floats(50, 150),
    st.floats(0.02, 3.0),
    st.floats(0.05, 1.5),
    st.floats(0.0, 0.08),
    st.floats(0.0, 0.05),
)


@settings(max_examples=200, deadline=None)
@given(inputs)
def test_put_call_parity(values):
    s, k, t, v, r, q = values
    call, put = bsm_price(s, k, t, v, r, q, True), bsm_price(s, k, t, v, r, q, False)
    assert call - put == pytest.approx(s * np.exp(-q * t) - k * np.exp(-r * t), abs=1e-9)


@settings(max_examples=200, deadline=None)
@given(inputs, st.booleans())
def test_greeks_are_the_derivatives_of_the_price(values, is_call):
    s, k, t, v, r, q = values
    base = {"spot": s, "strike": k, "years": t, "vol": v, "rate": r, "dividend": q}

    def price(**bumped) -> float:
        return float(bsm_price(**{**base, **bumped}, is_call=is_call))

    def delta(**bumped) -> float:
        return float(bsm_greeks(**{**base, **bumped}, is_call=is_call).delta)

    g = bsm_greeks(**base, is_call=is_call)
    h, day = 1e-4, 1 / 365
    central = (price(spot=s + h) - price(spot=s - h)) / (2 * h)
    assert float(g.delta) == pytest.approx(central, rel=1e-5, abs=1e-6)
    second = (price(spot=s + h) - 2 * price() + price(spot=s - h)) / h**2
    assert float(g.gamma) == pytest.approx(second, rel=1e-4, abs=1e-4)
    by_vol = (price(vol=v + h) - price(vol=v - h)) / (2 * h) / 100
    assert float(g.vega) == pytest.approx(by_vol, rel=1e-5, abs=1e-6)
    by_rate = (price(rate=r + h) - price(rate=r - h)) / (2 * h) / 100
    assert float(g.rho) == pytest.approx(by_rate, rel=1e-5, abs=1e-6)
    if t > 2 * day:  # theta and charm: value change as one calendar day passes
        by_day = (price(years=t - h * day) - price(years=t + h * day)) / (2 * h)
        assert float(g.theta) == pytest.approx(by_day, rel=1e-5, abs=1e-6)
        charm = (delta(years=t - h * day) - delta(years=t + h * day)) / (2 * h)
        assert float(g.charm) == pytest.approx(charm, rel=1e-5, abs=1e-6)
    vanna = (delta(vol=v + h) - delta(vol=v - h)) / (2 * h) / 100
    assert float(g.vanna) == pytest.approx(vanna, rel=1e-5, abs=1e-6)
