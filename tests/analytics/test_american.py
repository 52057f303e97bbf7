"""Barone-Adesi-Whaley against QuantLib's engine, and the American bounds."""

import itertools

import numpy as np
import pytest

from rulesengine.analytics.american import baw_price
from rulesengine.analytics.bsm import bsm_price

ql = pytest.importorskip("QuantLib")

GRID = list(
    itertools.product((True, False), (0.0, 0.04), (30, 182, 730), (0.15, 0.6), (80.0, 100.0, 120.0))
)


def quantlib_baw(is_call, q, days, vol, strike, spot=100.0, rate=0.05):
    today = ql.Date(2, 1, 2024)
    ql.Settings.instance().evaluationDate = today
    dc = ql.Actual365Fixed()
    curve = lambda x: ql.YieldTermStructureHandle(ql.FlatForward(today, x, dc))  # noqa: E731
    vol_ts = ql.BlackVolTermStructureHandle(ql.BlackConstantVol(today, ql.NullCalendar(), vol, dc))
    process = ql.BlackScholesMertonProcess(
        ql.QuoteHandle(ql.SimpleQuote(spot)), curve(q), curve(rate), vol_ts
    )
    kind = ql.Option.Call if is_call else ql.Option.Put
    option = ql.VanillaOption(
        ql.PlainVanillaPayoff(kind, strike), ql.AmericanExercise(today, today + days)
    )
    option.setPricingEngine(ql.BaroneAdesiWhaleyApproximationEngine(process))
    return option.NPV()


@pytest.mark.parametrize(("is_call", "q", "days", "vol", "strike"), GRID)
def test_matches_quantlib(is_call, q, days, vol, strike):
    ours = float(baw_price(100.0, strike, days / 365, vol, 0.05, q, is_call))
    # QuantLib stops its critical-price search at 1e-6 (measured gap <= 8e-7 of the price);
    # ours solves to 1e-12, checked on its own by test_critical_price_pastes_smoothly
    assert ours == pytest.approx(quantlib_baw(is_call, q, days, vol, strike), rel=2e-6, abs=1e-9)


def test_american_bounds():
    strikes = np.linspace(60, 140, 41)
    for is_call, q in ((False, 0.0), (True, 0.04)):
        american = baw_price(100.0, strikes, 0.5, 0.3, 0.05, q, is_call)
        european = bsm_price(100.0, strikes, 0.5, 0.3, 0.05, q, is_call)
        intrinsic = np.maximum(100.0 - strikes, 0) if is_call else np.maximum(strikes - 100.0, 0)
        assert (american >= european - 1e-12).all()
        assert (american >= intrinsic - 1e-12).all()
    no_dividend_call = baw_price(100.0, strikes, 0.5, 0.3, 0.05, 0.0, True)
    np.testing.assert_allclose(
        no_dividend_call, bsm_price(100.0, strikes, 0.5, 0.3, 0.05, 0.0, True)
    )


@pytest.mark.parametrize("is_call", [True, False])
def test_critical_price_pastes_smoothly(is_call):
    """At S* the option is worth exactly its exercise value, with the same slope."""
    from rulesengine.analytics.american import _critical_price

    k, t, r, q, v = 100.0, 0.5, 0.05, 0.04, 0.3
    critical, _ = _critical_price(
        np.array([k]),
        np.array([t]),
        np.array([r]),
        np.array([r - q]),
        np.array([v]),
        np.array([is_call]),
    )
    star = float(critical[0])
    sign = 1.0 if is_call else -1.0
    inside = star * (1 - sign * 1e-4)  # just on the holding side
    value = float(baw_price(inside, k, t, v, r, q, is_call))
    exercise = sign * (inside - k)
    assert value == pytest.approx(exercise, abs=1e-5)  # contact of second order: gap ~ h^2
    assert float(baw_price(star, k, t, v, r, q, is_call)) == pytest.approx(
        sign * (star - k), abs=1e-9
    )


def test_american_implied_vol_round_trip():
    from rulesengine.analytics.american import implied_vol_american
    from rulesengine.analytics.iv import IVReason

    strikes = np.array([70.0, 90.0, 100.0, 110.0, 140.0] * 4)
    calls = np.repeat([True, False, True, False], 5)
    dividends = np.repeat([0.04, 0.0, 0.0, 0.03], 5)
    vols = np.linspace(0.1, 0.9, 20)
    prices = baw_price(100.0, strikes, 0.4, vols, 0.05, dividends, calls)
    result = implied_vol_american(prices, 100.0, strikes, 0.4, 0.05, dividends, calls)
    exercise = np.where(calls, np.maximum(100.0 - strikes, 0), np.maximum(strikes - 100.0, 0))
    at_exercise = np.isclose(prices, exercise, rtol=0, atol=1e-12)  # exercised: no vol in it
    assert at_exercise.sum() >= 1
    assert (result.reason[at_exercise] == IVReason.BELOW_RESOLUTION).all()
    assert (result.reason[~at_exercise] == IVReason.OK).all()
    np.testing.assert_allclose(result.vol[~at_exercise], vols[~at_exercise], atol=1e-8)


def test_american_implied_vol_reasons():
    from rulesengine.analytics.american import implied_vol_american
    from rulesengine.analytics.iv import IVReason

    deep_put = implied_vol_american(
        30.0, 100.0, 130.0, 0.5, 0.05, 0.0, False
    )  # exactly exercise value
    assert deep_put.reason == IVReason.BELOW_RESOLUTION and np.isnan(deep_put.vol)
    assert (
        implied_vol_american(25.0, 100.0, 130.0, 0.5, 0.05, 0.0, False).reason
        == IVReason.BELOW_INTRINSIC
    )
    assert (
        implied_vol_american(100.0, 100.0, 90.0, 0.5, 0.05, 0.0, True).reason
        == IVReason.ABOVE_UPPER_BOUND
    )
    assert (
        implied_vol_american(np.nan, 100.0, 90.0, 0.5, 0.05, 0.0, True).reason
        == IVReason.INVALID_INPUT
    )


@pytest.mark.parametrize("strike", [80.0, 100.0, 120.0])
def test_zero_rate_dividend_calls_match_quantlib(strike):
    # r = 0 makes BAW's m / (1 - e^-rT) a 0/0: the limit 2 / (vol^2 T) is used
    ours = float(baw_price(100.0, strike, 182 / 365, 0.35, 0.0, 0.08, True))
    assert ours == pytest.approx(quantlib_baw(True, 0.08, 182, 0.35, strike, rate=0.0), rel=2e-6)
