"""`max_entries_per_scan: N`: the top N ranked candidates in one scan, each passing sizing and
limits with the earlier ones counted; a tick re-run after a crash never exceeds N."""

from __future__ import annotations

import pytest

from tests.conftest import checked
from tests.engine.harness import PUT_SPREAD

pytestmark = pytest.mark.anyio

# several distinct spreads pass: any short put 30-60 DTE between -0.30 and -0.10 delta
WIDE = PUT_SPREAD.replace(
    "delta between -0.30 and -0.20 and bid > 0\n         prefer delta nearest -0.25",
    "delta between -0.30 and -0.10 and bid > 0\n         prefer delta nearest -0.20 keep 6",
)


def strategy(limits: str) -> str:
    return WIDE + "limits:\n" + limits


async def test_the_top_n_candidates_enter_in_one_scan(harness):
    h = harness({"puts.yaml": strategy("  max_entries_per_scan: 3\n")})
    report = await h.day(0)
    assert report.entries == 3
    entered = [r for r in h.decisions("candidate") if r["outcome"] == "entered"]
    assert len(entered) == 3 and len({p.legs[0].symbol for p in h.positions()}) == 3


async def test_limits_count_the_entries_made_earlier_in_the_same_scan(harness):
    h = harness({"puts.yaml": strategy("  max_entries_per_scan: 3\n  max_positions: 2\n")})
    report = await h.day(0)
    assert report.entries == 2
    refused = [r for r in h.decisions("candidate") if r["outcome"] == "rejected"]
    assert any("max_positions 2 reached (2 open positions)" in r["reason"] for r in refused)


async def test_a_re_run_tick_never_exceeds_n(harness):
    h = harness({"puts.yaml": strategy("  max_entries_per_scan: 2\n")})
    await h.day(0)
    h.open()  # a restart, then the same tick again
    again = await h.day(0)
    assert again.entries == 0 and len(h.positions()) == 2


def test_a_portfolio_file_cannot_set_it():
    result = checked("portfolio: risk\nlimits:\n  max_entries_per_scan: 2\n")
    (d,) = result.diagnostics
    assert d.code == "E011" and "a portfolio file does not scan" in d.message
