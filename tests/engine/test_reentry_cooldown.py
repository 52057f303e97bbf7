"""`reentry_cooldown: 2d`: after a position closes at a loss, the strategy's scans wait, with
the reason; a win (or the end of the cooldown) lets entries go on."""

from __future__ import annotations

import pytest

from tests.conftest import checked
from tests.engine.harness import PUT_SPREAD

pytestmark = pytest.mark.anyio

# closes the day after entering, at the walked fill less fees: a small loss on this week
CLOSE_NEXT_DAY = PUT_SPREAD.replace(
    "stop_loss: pnl <= -10 * max_profit", "stop_loss: dte <= 45"
).replace("delta between -0.30 and -0.20", "delta between -0.30 and -0.10")


async def test_entries_wait_after_a_losing_close(harness):
    rules = CLOSE_NEXT_DAY + "limits:\n  reentry_cooldown: 2d\n"
    h = harness({"puts.yaml": rules})
    await h.day(0)
    await h.day(1)  # the exit order works after the day's scan and fills at 15:52, at a loss
    (lost,) = h.positions("closed")
    assert lost.realised_pnl < 0
    await h.day(2)
    blocked = h.decisions("scan")[-1]
    assert blocked["outcome"] == "blocked" and blocked["reason"].startswith(
        f"reentry_cooldown: {lost.id} closed at a loss ({lost.realised_pnl:+,.2f}) at "
        "2011-01-04T15:52"
    )
    assert blocked["reason"].endswith("entries again from 2011-01-06T15:52-05:00")
    await h.day(3)  # the 6th at 15:45: seven minutes short of two days
    assert h.decisions("scan")[-1]["outcome"] == "blocked"
    report = await h.day(4)
    assert h.decisions("scan")[-1]["outcome"] != "blocked" and report.entries == 1


async def test_without_a_cooldown_the_strategy_enters_again_at_once(harness):
    h = harness({"puts.yaml": CLOSE_NEXT_DAY})
    await h.day(0)
    await h.day(1)
    assert (await h.day(2)).entries == 1


def test_a_cooldown_is_a_duration_of_a_strategy():
    bad = checked(PUT_SPREAD + "limits:\n  reentry_cooldown: $5\n").diagnostics
    assert [d.code for d in bad] == ["E201"]
    portfolio = checked("portfolio: risk\nlimits:\n  reentry_cooldown: 1d\n").diagnostics
    assert [d.code for d in portfolio] == ["E011"]
