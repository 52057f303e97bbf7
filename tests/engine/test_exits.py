"""Each exit type on a real position over the real SPX week: it fires exactly when its
condition holds on the next day's marks, and the close order goes through the paper broker."""

from __future__ import annotations

import numpy as np
import pytest

from tests.engine.harness import PUT_SPREAD

pytestmark = pytest.mark.anyio


def with_exit(exit_text: str) -> str:
    head = PUT_SPREAD.split("exit:")[0]
    return head + "exit:\n  " + exit_text + "\n"


def mid_credit(h, p, day: int) -> float:
    """Net credit per unit to open the position's structure again on `day`, at mid."""
    chain = h.snapshot(day)
    symbols = chain.column("symbol")
    total = 0.0
    for leg in p.legs:
        row = int(np.flatnonzero(symbols == leg.symbol)[0])
        mid = (chain.column("bid")[row] + chain.column("ask")[row]) / 2
        total -= leg.ratio * mid
    return total


async def entered(harness, exit_text: str):
    h = harness({"puts.yaml": with_exit(exit_text)})
    await h.day(0)
    (p,) = h.positions("open")
    return h, p


async def adjust(h, p, **changes) -> None:
    live = h.engine.positions[p.id]
    for name, value in changes.items():
        setattr(live, name, value)
    h.journal.save_position(live)


# (exit, how to set the position up given the next day's credit c, should it fire)
CASES = [
    (
        "take_profit: pnl >= 50% of max_profit",
        lambda c: {"entry_price": c + 1, "max_profit": 150.0},
        True,
    ),
    (
        "take_profit: pnl >= 50% of max_profit",
        lambda c: {"entry_price": c + 1, "max_profit": 250.0},
        False,
    ),
    ("stop_loss: pnl <= -2 * entry_credit", lambda c: {"entry_price": c / 4}, True),
    ("stop_loss: pnl <= -2 * entry_credit", lambda c: {"entry_price": c / 2}, False),
    (
        "trail: high_water_pnl >= 50 and pnl <= high_water_pnl - 25",
        lambda c: {"entry_price": c + 1, "high_water_pnl": 130.0},
        True,
    ),
    (
        "trail: high_water_pnl >= 50 and pnl <= high_water_pnl - 25",
        lambda c: {"entry_price": c + 1, "high_water_pnl": 110.0},
        False,
    ),
]


@pytest.mark.parametrize(("exit_text", "setup", "fires"), CASES)
async def test_money_exits_fire_exactly_when_their_condition_holds(
    harness, exit_text, setup, fires
):
    h, p = await entered(harness, exit_text)
    await adjust(h, p, **setup(mid_credit(h, p, 1)))
    report = await h.day(1)
    after = h.journal.position(p.id)
    name = exit_text.split(":")[0]
    if fires:
        assert report.exits == 1
        assert after.status == "closed"
        assert after.exit_reason.startswith(f"{name}: ")
        assert "pnl = " in after.exit_reason  # the values that made it fire
        assert after.realised_pnl is not None
    else:
        assert report.exits == 0
        assert after.status == "open"


async def test_time_stop_fires_on_the_day_dte_reaches_the_limit(harness):
    h, p = await entered(harness, "time_stop: dte <= 44")
    dte_day1 = (np.datetime64(p.expiry) - np.datetime64("2011-01-04")).astype(int)
    assert dte_day1 == 45  # so day 1 (45 days left) holds, day 2 (44) exits
    assert (await h.day(1)).exits == 0
    assert (await h.day(2)).exits == 1
    assert h.journal.position(p.id).exit_reason.startswith("time_stop: dte <= 44 (dte = 44)")


async def test_strike_breached_and_close_itm_before_expiry(harness):
    h, p = await entered(harness, "itm_close: short_strike_breached and dte <= 60")
    assert (await h.day(1)).exits == 0  # the short put is far below the price
    short = next(leg for leg in p.legs if leg.ratio < 0)
    moved = [
        leg if leg is not short else type(leg)(**{**leg.__dict__, "strike": 5000.0})
        for leg in p.legs
    ]
    await adjust(h, p, legs=moved)  # as if SPX had fallen through the short strike
    assert (await h.day(2)).exits == 1
    assert "short_strike_breached = 1" in h.journal.position(p.id).exit_reason


async def test_unquoted_leg_is_marked_by_the_model_and_its_exit_held_for_a_quote(harness):
    """Issue 12 #1: a leg missing from the snapshot was valued at its entry price (phantom
    P&L) and its exits were not evaluated. Now the model prices it, the exit fires on that
    mark, and the close waits for a real quote."""
    h, p = await entered(harness, "take_profit: pnl >= -1000000")
    chain = h.snapshot(1)
    keep = np.flatnonzero(chain.column("symbol") != p.legs[0].symbol)
    report = await h.day(1, chain=chain.take(keep))
    assert report.exits == 0
    (row,) = [r for r in h.decisions("exit") if r["subject"] == p.id]
    assert row["outcome"] == "held"
    assert "marked_by_model = yes" in row["reason"]
    assert f"no quote to close at for {p.legs[0].symbol.strip()}" in row["reason"]
    held = h.journal.position(p.id)
    assert held.marked_by_model and held.status == "open"
    real = mid_credit(h, p, 1)  # the structure's true mid that day
    model = h.engine.book.marks[p.id].close_credit * -1
    assert model == pytest.approx(real, abs=0.35)  # the model is near the market, not entry


async def test_a_position_with_no_data_for_its_underlying_is_unmarked_and_says_why(harness):
    h, p = await entered(harness, "take_profit: pnl >= -1000000")
    chain = h.snapshot(1)
    keep = np.flatnonzero(chain.column("underlying_symbol") != "SPX")
    report = await h.day(1, chain=chain.take(keep), work=False)
    assert report.exits == 0
    (row,) = [r for r in h.decisions("monitor") if r["subject"] == p.id]
    assert row["outcome"] == "unmarked"
    assert p.legs[0].symbol.strip() in row["reason"] and "no model price" in row["reason"]
