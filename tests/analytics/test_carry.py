"""Rates from the Treasury curve and parity-implied forwards."""

from datetime import date

import numpy as np
import pytest

from rulesengine.analytics.bsm import bsm_price
from rulesengine.analytics.carry import implied_dividend_yield, implied_forwards
from rulesengine.data.chain import to_seconds
from rulesengine.data.rates import RatesError, YieldCurves
from tests.strategies.test_legs import synthetic_chain


@pytest.fixture(scope="module")
def curves():
    return YieldCurves.load()


def continuous(par):
    return 2 * np.log1p(par / 2)


def test_rates_interpolate_in_tenor_and_compound_continuously(curves):
    day = to_seconds(date(2011, 1, 3))  # 1m 0.0011, 3m 0.0015, 6m 0.0019, 30y 0.0439
    assert curves.rate(day, 1 / 12) == pytest.approx(continuous(0.0011))
    assert curves.rate(day, 0.375) == pytest.approx(continuous(0.0017))  # halfway 3m-6m
    assert curves.rate(day, 0.01) == pytest.approx(continuous(0.0011))  # flat below 1 month
    assert curves.rate(day, 50) == pytest.approx(continuous(0.0439))  # flat beyond 30 years


def test_weekends_use_the_last_curve_and_blank_tenors_are_skipped(curves):
    saturday, friday = to_seconds(date(2011, 1, 8)), to_seconds(date(2011, 1, 7))
    assert curves.rate(saturday, 1.0) == curves.rate(friday, 1.0)
    early = to_seconds(date(1990, 1, 2))  # no 1-month yield published: 3 months is the shortest
    assert curves.rate(early, 1 / 12) == pytest.approx(continuous(0.0783))
    with pytest.raises(RatesError, match="1990-01-02"):
        curves.rate(to_seconds(date(1980, 1, 1)), 1.0)


def test_parity_recovers_the_forward_of_an_exact_chain():
    strikes = [90, 95, 100, 105, 110] * 2
    chain = synthetic_chain(strikes, [30] * 10, [1] * 5 + [0] * 5, ["A"] * 10)
    chain.columns["quote_date"] = np.zeros(10)
    spot, rate, q, years = 100.0, 0.03, 0.02, 30 / 365
    prices = bsm_price(
        spot, np.array(strikes, float), years, 0.2, rate, q, chain.columns["type"] == 1
    )
    chain.columns["bid"] = chain.columns["ask"] = prices
    forward = implied_forwards(chain, np.full(10, rate))
    np.testing.assert_allclose(forward, spot * np.exp((rate - q) * years), rtol=1e-12)
    yield_ = implied_dividend_yield(spot, forward, rate, years)
    np.testing.assert_allclose(yield_, q, atol=1e-10)


def test_real_spx_forwards_and_dividend_yield(spx, curves):
    col = spx.column
    years = (col("expiry") - col("quote_date")) / 86400 / 365
    rates = curves.rate(col("quote_date"), years)
    forward = implied_forwards(spx, rates)
    diff = np.abs(forward / col("forward") - 1)
    assert np.isfinite(forward).mean() > 0.99
    assert np.nanmedian(diff) < 0.001  # measured 0.07% against the vendor's forwards
    dividend = implied_dividend_yield(col("underlying_price"), forward, rates, years)
    assert 0.015 < np.nanmedian(dividend[years > 0.1]) < 0.022  # S&P 500 yield, Jan 2011: ~1.9%
