"""Structure math against hand-computed values (real SPX rows and small exact cases)."""

import math
from statistics import NormalDist

import numpy as np
import pytest

from rulesengine.strategies.structures import LegShape, Structures
from tests.strategies.test_legs import synthetic_chain

N = NormalDist()


def rows_of(chain, symbol):
    return int(np.flatnonzero(chain.column("symbol") == symbol)[0])


def test_bull_put_vertical_on_real_spx_rows(spx_day):
    short = rows_of(spx_day, "SPX   110219P01200000")  # bid 9.5 ask 10.8 iv 0.196017
    long = rows_of(spx_day, "SPX   110219P01195000")  # bid 8.6 ask 10.6
    s = Structures(
        spx_day,
        [LegShape("short", -1, "put"), LegShape("long", 1, "put")],
        {"short": np.array([short]), "long": np.array([long])},
    )
    credit = (9.5 + 10.8) / 2 - (8.6 + 10.6) / 2
    assert s("credit")[0] == pytest.approx(credit)
    assert s("natural_credit")[0] == pytest.approx(9.5 - 10.6)
    assert s("width")[0] == pytest.approx(5.0)
    assert s("max_profit")[0] == pytest.approx(credit * 100)
    assert s("max_loss")[0] == pytest.approx((5 - credit) * 100)
    breakeven = 1200 - credit
    assert s("lower_breakeven")[0] == pytest.approx(breakeven)
    assert s("upper_breakeven")[0] == pytest.approx(breakeven)
    # POP = P(S_T > breakeven), ln S_T ~ N(ln F - s^2/2, s^2), s = short IV * sqrt(46/365)
    forward, vol, years = 1269.061, 0.196017, 46 / 365
    sd = vol * math.sqrt(years)
    expected = N.cdf((math.log(forward / breakeven) - sd * sd / 2) / sd)
    assert s("pop")[0] == pytest.approx(expected, abs=1e-9)
    assert s("net_delta")[0] == pytest.approx(
        -spx_day.column("delta")[short] + spx_day.column("delta")[long]
    )
    assert s("risk_reward")[0] == pytest.approx((5 - credit) / credit)


def iron_condor(mids):
    # strikes 90P 95P 105C 110C, one expiry 30 days out, IV 20%, forward 100
    chain = synthetic_chain([90, 95, 105, 110], [30, 30, 30, 30], [0, 0, 1, 1], ["A"] * 4)
    chain.columns["bid"] = np.asarray(mids, float)
    chain.columns["ask"] = np.asarray(mids, float)
    chain.columns["iv"] = np.full(4, 0.2)
    chain.columns["forward"] = np.full(4, 100.0)
    legs = [
        LegShape("lp", 1, "put"),
        LegShape("sp", -1, "put"),
        LegShape("sc", -1, "call"),
        LegShape("lc", 1, "call"),
    ]
    return Structures(chain, legs, {leg.name: np.array([i]) for i, leg in enumerate(legs)})


def test_iron_condor_numbers():
    s = iron_condor([1.0, 2.0, 2.0, 1.0])
    assert s("credit")[0] == pytest.approx(2.0)
    assert s("width")[0] == pytest.approx(5.0)
    assert s("max_profit")[0] == pytest.approx(200.0)
    assert s("max_loss")[0] == pytest.approx(300.0)
    assert (s("lower_breakeven")[0], s("upper_breakeven")[0]) == (
        pytest.approx(93.0),
        pytest.approx(107.0),
    )
    sd = 0.2 * math.sqrt(30 / 365)
    cdf = lambda x: N.cdf((math.log(x / 100) + sd * sd / 2) / sd)  # noqa: E731
    assert s("pop")[0] == pytest.approx(cdf(107) - cdf(93), abs=1e-9)


@pytest.mark.filterwarnings("error")
def test_a_structure_that_never_breaks_even_has_no_breakevens_and_warns_nothing():
    # a credit larger than the width (a crossed, stale quote): profitable at every price
    s = iron_condor([0.0, 6.0, 6.0, 0.0])
    assert s("max_loss")[0] == 0.0
    assert math.isnan(s("lower_breakeven")[0]) and math.isnan(s("upper_breakeven")[0])


def test_single_legs_and_unbounded_payoffs():
    chain = synthetic_chain([100], [30], [1], ["A"])
    chain.columns["bid"], chain.columns["ask"] = np.array([3.0]), np.array([3.0])
    chain.columns["iv"], chain.columns["forward"] = np.array([0.2]), np.array([100.0])
    long_call = Structures(chain, [LegShape("c", 1, "call")], {"c": np.array([0])})
    assert long_call("max_profit")[0] == math.inf
    assert long_call("max_loss")[0] == pytest.approx(300.0)
    assert long_call("upper_breakeven")[0] == pytest.approx(103.0)
    short_call = Structures(chain, [LegShape("c", -1, "call")], {"c": np.array([0])})
    assert short_call("max_loss")[0] == math.inf
    assert short_call("max_profit")[0] == pytest.approx(300.0)


def test_covered_call_uses_the_underlying_for_the_stock_leg():
    chain = synthetic_chain([105], [30], [1], ["A"])
    chain.columns["bid"], chain.columns["ask"] = np.array([2.0]), np.array([2.0])
    chain.columns["iv"], chain.columns["forward"] = np.array([0.2]), np.array([100.0])
    s = Structures(
        chain,
        [LegShape("stock", 1, "stock"), LegShape("call", -1, "call")],
        {"stock": np.array([0]), "call": np.array([0])},
    )
    assert s("credit")[0] == pytest.approx(-98.0)  # pay 100 for shares, take 2 for the call
    assert s("max_profit")[0] == pytest.approx((105 - 100 + 2) * 100)
    assert s("max_loss")[0] == pytest.approx(98 * 100)
    assert s("net_delta")[0] == pytest.approx(1.0 - chain.columns["delta"][0])


def test_calendar_max_loss_is_about_the_debit():
    chain = synthetic_chain([100, 100], [30, 60], [1, 1], ["A", "A"])
    chain.columns["bid"], chain.columns["ask"] = np.array([2.3, 3.3]), np.array([2.3, 3.3])
    chain.columns["iv"], chain.columns["forward"] = np.array([0.2, 0.2]), np.array([100.0, 100.0])
    chain.columns["quote_date"] = np.zeros(2)
    s = Structures(
        chain,
        [LegShape("near", -1, "call"), LegShape("far", 1, "call")],
        {"near": np.array([0]), "far": np.array([1])},
    )
    assert s("debit")[0] == pytest.approx(1.0)
    assert s("max_loss")[0] == pytest.approx(100.0, rel=0.05)
    assert s("max_profit")[0] > 0
    assert 0 < s("pop")[0] < 1
    assert s("lower_breakeven")[0] < 100 < s("upper_breakeven")[0]


def test_butterfly_with_a_doubled_body():
    chain = synthetic_chain([95, 100, 105], [30, 30, 30], [1, 1, 1], ["A"] * 3)
    chain.columns["bid"] = chain.columns["ask"] = np.array([6.0, 3.0, 1.0])
    chain.columns["iv"], chain.columns["forward"] = np.full(3, 0.2), np.full(3, 100.0)
    legs = [LegShape("low", 1, "call"), LegShape("body", -2, "call"), LegShape("high", 1, "call")]
    s = Structures(chain, legs, {leg.name: np.array([i]) for i, leg in enumerate(legs)})
    assert s("debit")[0] == pytest.approx(1.0)  # 6 - 2 * 3 + 1
    assert s("max_profit")[0] == pytest.approx(400.0)
    assert s("max_loss")[0] == pytest.approx(100.0)
    assert (s("lower_breakeven")[0], s("upper_breakeven")[0]) == (
        pytest.approx(96.0),
        pytest.approx(104.0),
    )


def test_straddle_on_real_spx_rows(spx_day):
    put = rows_of(spx_day, "SPX   110219P01275000")
    call = rows_of(spx_day, "SPX   110219C01275000")
    legs = [LegShape("put", -1, "put"), LegShape("call", -1, "call")]
    s = Structures(spx_day, legs, {"put": np.array([put]), "call": np.array([call])})
    credit = spx_day.column("mid")[put] + spx_day.column("mid")[call]
    assert s("credit")[0] == pytest.approx(credit)
    assert s("max_loss")[0] == math.inf
    assert s("lower_breakeven")[0] == pytest.approx(1275 - credit)
    assert s("upper_breakeven")[0] == pytest.approx(1275 + credit)
