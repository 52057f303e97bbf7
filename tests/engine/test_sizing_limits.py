"""Sizing (fixed, fixed fractional, quarter Kelly with a floor of evidence, caps, daily
target) and portfolio limits, against hand-computed numbers."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rulesengine.check.program import Program
from rulesengine.engine.account import exposure as exposure_of
from rulesengine.engine.book import PositionBook
from rulesengine.engine.journal import Journal
from rulesengine.engine.limits import Exposure, Proposal, limit_problem
from rulesengine.engine.positions import Position, PositionLeg, Status
from rulesengine.engine.sizing import TradeStats, cap_by_portfolio, size_trade

NET_LIQ = {"net_liq": 100_000.0, "buying_power": 80_000.0, "day_pnl": 0.0}


def program(**size) -> Program:
    return Program(file="t.yaml", text="", name="t", kind="strategy", size=size)


def test_fixed_fractional_divides_the_risk_by_the_max_loss():
    size = size_trade(program(), {"risk": 1000.0}, 380.0, 380.0, NET_LIQ, TradeStats())
    assert size.contracts == 2  # floor(1000 / 380)
    assert size.reason == "risk $1,000.00 / max loss $380.00 = 2"


def test_fixed_count_and_the_max_contracts_cap():
    assert size_trade(program(contracts=3), {}, 500.0, 500.0, NET_LIQ, TradeStats()).contracts == 3
    capped = size_trade(
        program(max_contracts=4), {"risk": 10_000.0}, 100.0, 100.0, NET_LIQ, TradeStats()
    )
    assert capped.contracts == 4 and "capped at max_contracts 4" in capped.reason


def test_buying_power_share_cap():
    size = size_trade(
        program(), {"risk": 10_000.0, "max_buying_power": 0.05}, 500.0, 500.0, NET_LIQ, TradeStats()
    )
    assert size.contracts == 8  # 5% of 80,000 buying power / 500 per structure


def test_kelly_waits_for_enough_closed_trades():
    few = TradeStats.of([100.0] * 10 + [-200.0] * 5)
    size = size_trade(program(), {"risk": 1000.0, "kelly": 0.25}, 500.0, 500.0, NET_LIQ, few)
    assert size.contracts == 2
    assert "Kelly needs 30 closed trades, has 15" in size.reason


def test_quarter_kelly_from_the_strategys_own_trades():
    stats = TradeStats.of([100.0] * 28 + [-200.0] * 12)  # W = 0.7, R = 0.5
    f = 0.7 - 0.3 / 0.5
    assert stats.kelly() == pytest.approx(f)  # 0.1
    size = size_trade(program(), {"risk": 1000.0, "kelly": 0.25}, 500.0, 500.0, NET_LIQ, stats)
    assert size.contracts == int(0.25 * f * 100_000 / 500)  # 5
    losing = TradeStats.of([50.0] * 15 + [-200.0] * 25)
    none = size_trade(program(), {"risk": 1000.0, "kelly": 0.25}, 500.0, 500.0, NET_LIQ, losing)
    assert none.contracts == 0 and "no edge" in none.reason


@pytest.mark.parametrize(
    ("day_pnl", "contracts"), [(0, 8), (500, 8), (750, 4), (900, 1), (1000, 0), (1500, 0)]
)
def test_daily_target_schedule(day_pnl, contracts):
    scalars = {**NET_LIQ, "day_pnl": float(day_pnl)}
    size = size_trade(
        program(contracts=8), {"daily_target": 1000.0}, 100.0, 100.0, scalars, TradeStats()
    )
    assert size.contracts == contracts


@pytest.mark.parametrize(
    ("day_pnl", "contracts"),
    [(-100, 8), (0, 8), (239, 8), (240, 4), (269, 4), (270, 2), (299, 2), (300, 0)],
)
def test_near_target_steps_replace_the_linear_shrink(day_pnl, contracts):
    # seed 001: $300 a day; at 80% of it half size, at 90% a quarter, at the target none
    scalars = {**NET_LIQ, "day_pnl": float(day_pnl)}
    steps = ((0.8, 0.5), (0.9, 0.25))
    size = size_trade(
        program(contracts=8, near_target=steps),
        {"daily_target": 300.0},
        100.0,
        100.0,
        scalars,
        TradeStats(),
    )
    assert size.contracts == contracts
    if 240 <= day_pnl < 300:
        assert "of the target: x" in size.reason


@given(st.floats(-1e4, 1e4), st.integers(1, 100))
def test_near_target_never_grows_a_trade(day_pnl, fixed):
    scalars = {**NET_LIQ, "day_pnl": day_pnl}
    size = size_trade(
        program(contracts=fixed, near_target=((0.5, 0.75), (0.8, 0.5), (0.9, 0.25))),
        {"daily_target": 300.0},
        100.0,
        100.0,
        scalars,
        TradeStats(),
    )
    assert 0 <= size.contracts <= fixed
    assert size.contracts == 0 or day_pnl < 300


@given(st.floats(1, 1e6), st.floats(1, 1e5), st.integers(1, 50))
def test_size_never_risks_more_than_the_budget_or_the_cap(risk, max_loss, cap):
    size = size_trade(
        program(max_contracts=cap), {"risk": risk}, max_loss, max_loss, NET_LIQ, TradeStats()
    )
    assert 0 <= size.contracts <= cap
    assert size.contracts * max_loss <= risk + 1e-6


def held(n: int, strategy="t", underlying="SPX", expiry="2011-02-18", max_loss=500.0):
    legs = [PositionLeg("short", "X", -1, "put", 1200.0, expiry)]
    return [
        Position(
            f"{strategy}-p{i}",
            strategy,
            "v",
            underlying,
            legs,
            datetime(2011, 1, 3, 15, tzinfo=UTC),
            f"k{i}",
            quantity=1,
            status="open",
            max_loss=max_loss,
        )
        for i in range(n)
    ]


PROPOSAL = Proposal("t", "SPX", "2011-02-18", 500.0, 500.0, 20.0, -50.0)
NET_LIQ_NOW = 100_000.0


def exposure(positions=(), today=0, sectors=None) -> Exposure:
    """30% of net liq in use, 20% heat, +90 delta, -400 vega, as well as `positions`."""
    return Exposure(list(positions), today, 20_000.0, 30_000.0, 90.0, -400.0, sectors or {})


@pytest.mark.parametrize(
    ("limits", "positions", "today", "says"),
    [
        ({"max_positions": 2}, held(2), 0, "max_positions 2 reached (2 open positions)"),
        ({"max_positions": 3}, held(2), 0, None),
        ({"max_per_symbol": 1}, held(1), 0, "max_per_symbol 1 reached (1 positions on SPX)"),
        ({"max_per_expiry": 1}, held(1, expiry="2011-03-18"), 0, None),
        ({"max_new_per_day": 2}, [], 2, "max_new_per_day 2 reached (2 entries today)"),
        (
            {"max_buying_power": 0.30},
            [],
            0,
            "max_buying_power 30% exceeded (30.5% buying power after this trade)",
        ),
        (
            {"max_allocation": 0.30},
            [],
            0,
            "max_allocation 30% exceeded (30.5% of net liq committed after this trade)",
        ),
        ({"max_allocation": 0.31}, [], 0, None),
        ({"max_heat": 0.2}, [], 0, "max_heat 20% exceeded (20.5% heat after this trade)"),
        (
            {"max_portfolio_delta": 100},
            [],
            0,
            "max_portfolio_delta 100 exceeded (+110.0 after this trade)",
        ),
        ({"max_portfolio_vega": 500}, [], 0, None),
        (
            {"max_portfolio_vega": 420},
            [],
            0,
            "max_portfolio_vega 420 exceeded (-450.0 after this trade)",
        ),
    ],
)
def test_each_limit(limits, positions, today, says):
    assert limit_problem(limits, PROPOSAL, exposure(positions, today), NET_LIQ_NOW) == says


def test_sectors_group_underlyings():
    sectors = {"tech": ("AAPL", "MSFT")}
    positions = held(1, underlying="MSFT")
    aapl = Proposal("t", "AAPL", "2011-02-18", 500.0, 500.0, 0.0, 0.0)
    scope = exposure(positions, sectors=sectors)
    assert limit_problem({"max_per_sector": 1}, aapl, scope, NET_LIQ_NOW) == (
        "max_per_sector 1 reached (1 in tech)"
    )
    assert limit_problem({"max_per_sector": 1}, PROPOSAL, scope, NET_LIQ_NOW) is None


def book_of(tmp_path, positions) -> PositionBook:
    book = PositionBook(Journal(tmp_path / "journal.sqlite"))
    for p in positions:
        book.add(p)
    return book


def test_a_strategy_scope_counts_its_own_positions_and_the_account_counts_all(tmp_path):
    book = book_of(tmp_path, held(3, strategy="other") + held(1, strategy="t"))
    now = datetime(2011, 1, 3, 15, tzinfo=UTC)
    mine, every = exposure_of(book, "t", now), exposure_of(book, None, now)
    assert len(mine.positions) == 1 and mine.max_loss == 500.0
    assert len(every.positions) == 4 and every.max_loss == 2000.0
    assert limit_problem({"max_positions": 2}, PROPOSAL, mine, NET_LIQ_NOW) is None
    assert limit_problem({"max_positions": 4}, PROPOSAL, every, NET_LIQ_NOW) == (
        "max_positions 4 reached (4 open positions)"
    )


def test_entries_decided_this_tick_count_before_they_fill(tmp_path):
    """Issue 12 #3: an entry whose order is still working commits its whole order."""
    working = held(1)[0]
    working.status, working.quantity, working.ordered = Status.OPENING, 0, 3
    book = book_of(tmp_path, [working])
    scope = exposure_of(book, None, datetime(2011, 1, 3, 15, tzinfo=UTC))
    assert scope.max_loss == 1500.0 and len(scope.positions) == 1 and scope.opened_today == 1


def test_a_portfolio_size_caps_every_trade_on_the_accounts_day_pnl():
    # the desk's $300 target: the strategy sized 4; the account is up $260 (> 80%) -> 2
    desk = Program(
        file="risk.yaml", text="", name="desk", kind="portfolio",
        size={"near_target": ((0.8, 0.5), (0.9, 0.25))},
    )  # fmt: skip
    own = size_trade(program(contracts=4), {}, 100.0, 100.0, NET_LIQ, TradeStats())
    account = {**NET_LIQ, "day_pnl": 260.0}
    capped = cap_by_portfolio(own, "desk", desk, {"daily_target": 300.0}, 100.0, account)
    assert capped.contracts == 2
    assert capped.reason == "fixed 4; desk: day P&L $260 past 80% of the target: x0.5 = 2"
    calm = cap_by_portfolio(own, "desk", desk, {"daily_target": 300.0}, 100.0, NET_LIQ)
    assert calm == own  # below every step: the strategy's size and reason, untouched


@given(st.integers(1, 50), st.integers(1, 50), st.floats(-1e4, 1e4))
def test_a_portfolio_size_never_raises_a_strategys_size(n, cap, day_pnl):
    desk = Program(
        file="risk.yaml", text="", name="desk", kind="portfolio",
        size={"max_contracts": cap, "near_target": ((0.8, 0.5),)},
    )  # fmt: skip
    own = size_trade(program(contracts=n), {}, 100.0, 100.0, NET_LIQ, TradeStats())
    account = {**NET_LIQ, "day_pnl": day_pnl}
    capped = cap_by_portfolio(own, "desk", desk, {"daily_target": 300.0}, 100.0, account)
    assert 0 <= capped.contracts <= min(n, cap)
