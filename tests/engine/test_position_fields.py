"""Issue 15's position fields through the real path: `entry_underlying_price` and `entry_iv`
kept from the entry, `position_delta` and `position_vega` from this tick's marks, each read by
an exit on a real SPX position and reported with its value."""

from __future__ import annotations

import json
import re

import pytest

from tests.engine.harness import PUT_SPREAD

pytestmark = pytest.mark.anyio

PROBE = PUT_SPREAD.replace(
    "  stop_loss: pnl <= -10 * max_profit\n",
    "  probe: entry_underlying_price > $0 and entry_iv > 0 and position_delta > 0 "
    "and position_vega < 0\n",
)


def values(reason: str) -> dict[str, float]:
    return {k: float(v) for k, v in re.findall(r"(\w+) = (-?[\d.,]+)", reason.replace(",", ""))}


async def test_entry_and_current_position_fields_reach_exits(harness, spx):
    h = harness({"puts.yaml": PROBE})
    await h.day(0)
    (p,) = h.positions("open")
    candidate = next(r for r in h.decisions("candidate") if r["outcome"] == "entered")
    day0 = spx.on(h.journal.positions()[0].opened_at.date())
    assert p.detail["entry_underlying_price"] == float(day0.column("underlying_price")[0])
    legs = json.loads(candidate["detail"])["candidate"]["legs"]
    (sold,) = [leg for leg in legs if leg["side"] == "sell"]
    assert p.detail["entry_iv"] == pytest.approx(sold["iv"])
    await h.day(1)
    (exit_,) = [r for r in h.decisions("exit") if r["outcome"] == "closing"]
    seen = values(exit_["reason"])
    assert seen["entry_underlying_price"] == pytest.approx(
        p.detail["entry_underlying_price"], rel=1e-3
    )
    assert seen["entry_iv"] == pytest.approx(p.detail["entry_iv"], abs=0.005)  # shown rounded
    marked = h.journal.position(p.id).detail  # the greeks the book kept from this day's marks
    assert seen["position_delta"] == pytest.approx(marked["delta"], abs=0.01)
    assert seen["position_vega"] == pytest.approx(marked["vega"], abs=0.01)
