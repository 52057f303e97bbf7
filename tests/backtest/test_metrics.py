"""Backtest metrics against values worked out by hand on a small trade list."""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rulesengine.backtest.metrics import (
    Trade,
    compute,
    drawdowns,
    max_drawdown,
    strategy_equity,
)
from rulesengine.backtest.rejections import reason_kind

D0 = datetime(2018, 1, 2, 15, 45)


def trade(strategy: str, opened_day: int, closed_day: int, pnl: float) -> Trade:
    return Trade(strategy, D0 + timedelta(days=opened_day), D0 + timedelta(days=closed_day), pnl)


TRADES = [
    trade("puts", 0, 2, 200.0),
    trade("puts", 1, 4, -300.0),
    trade("calls", 2, 3, 100.0),
    trade("calls", 3, 5, 50.0),
]
DAYS = [date(2018, 1, 2) + timedelta(days=i) for i in range(6)]
EQUITY = [10_000.0, 10_100.0, 9_900.0, 10_000.0, 9_800.0, 10_050.0]


def test_trade_metrics_by_hand():
    m = compute(TRADES, DAYS, EQUITY)
    assert m.trades == 4
    assert m.total_pnl == pytest.approx(50.0)
    assert m.win_rate == pytest.approx(0.75)  # 3 of 4
    assert m.average_win == pytest.approx((200 + 100 + 50) / 3)
    assert m.average_loss == pytest.approx(-300.0)
    assert m.profit_factor == pytest.approx(350 / 300)
    assert m.expectancy == pytest.approx(12.5)
    assert m.average_days_held == pytest.approx((2 + 3 + 1 + 2) / 4)


def test_returns_start_from_the_capital_before_the_first_days_trading():
    """The first day's close already carries its fills and fees: measured from the starting
    capital, total P&L is the account's change (open positions at their marks included) and
    total return says the same."""
    m = compute(TRADES[:1], DAYS, EQUITY, starting=10_200.0)
    assert m.total_pnl == pytest.approx(10_050.0 - 10_200.0)  # not the one closed trade's +200
    assert m.total_return == pytest.approx(m.total_pnl / 10_200.0)
    assert m.max_drawdown == pytest.approx((10_200 - 9_800) / 10_200)


def test_return_metrics_by_hand():
    m = compute(TRADES, DAYS, EQUITY)
    returns = [0.01, 9_900 / 10_100 - 1, 10_000 / 9_900 - 1, -0.02, 10_050 / 9_800 - 1]
    mean = sum(returns) / 5
    std = math.sqrt(sum((r - mean) ** 2 for r in returns) / 4)
    downside = math.sqrt(sum(min(r, 0) ** 2 for r in returns) / 5)
    assert m.total_return == pytest.approx(0.005)
    assert m.annualised_return == pytest.approx(1.005 ** (365.25 / 5) - 1)
    assert m.sharpe == pytest.approx(mean / std * math.sqrt(252))
    assert m.sortino == pytest.approx(mean / downside * math.sqrt(252))
    # peak 10,100 on day 1, trough 9,800 on day 4; regained on day 5 (10,050 < 10,100: not yet)
    assert m.max_drawdown == pytest.approx(300 / 10_100)
    assert m.max_drawdown_days == 4  # day 1 -> day 5, still under water at the end
    assert m.exposure == pytest.approx(1.0)  # a position on every day


def test_exposure_counts_days_with_a_position_including_open_ones():
    days = [date(2018, 1, 2) + timedelta(days=i) for i in range(10)]
    closed = [trade("x", 0, 1, 10.0)]  # days 0-1
    m = compute(closed, days, [1.0] * 10, open_since=[D0 + timedelta(days=7)])  # days 7-9
    assert m.exposure == pytest.approx(5 / 10)


def test_no_trades_and_flat_equity_are_not_numbers_not_crashes():
    m = compute([], DAYS, [10_000.0] * 6)
    assert m.trades == 0 and math.isnan(m.win_rate) and math.isnan(m.sharpe)
    assert m.total_return == 0.0 and m.max_drawdown == 0.0


def test_profit_factor_without_losses_is_infinite():
    assert compute(TRADES[:1], DAYS, EQUITY).profit_factor == math.inf


def test_strategy_equity_adds_realised_pnl_on_close_days():
    curve = strategy_equity([t for t in TRADES if t.strategy == "puts"], DAYS, 10_000.0)
    assert curve == [10_000, 10_000, 10_200, 10_200, 9_900, 9_900]


@given(st.lists(st.floats(1.0, 1e6), min_size=1, max_size=60))
def test_drawdown_is_a_fraction_and_zero_at_new_highs(equity):
    depth = drawdowns(equity)
    assert all(0.0 <= d < 1.0 for d in depth)
    peak = -1.0
    for value, d in zip(equity, depth, strict=True):
        if value >= peak:
            assert d == 0.0
        peak = max(peak, value)
    days = [date(2018, 1, 1) + timedelta(days=i) for i in range(len(equity))]
    assert max_drawdown(days, equity)[0] == pytest.approx(max(depth))


@pytest.mark.parametrize(
    ("reason", "kind"),
    [
        (
            "limit (risk): max_heat 25% exceeded (31.2% heat after this trade)",
            "limit (risk): max_heat 25% exceeded",
        ),
        (
            "preview: not enough buying power: the order needs $1,234.50 more (requirement $5)",
            "preview: not enough buying power: the order needs $N more",
        ),
        ("already held as p-81f3f8aa", "already held as an open position"),
        ("data: short quote is 33300s old (limit 60s)", "data: short quote is Ns old"),
        ("limit: max_per_expiry 2 reached (2 positions expiring 2011-02-18)",
         "limit: max_per_expiry 2 reached"),
    ],
)  # fmt: skip
def test_rejection_reasons_are_grouped_without_their_numbers(reason, kind):
    assert reason_kind(reason) == kind
