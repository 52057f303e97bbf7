"""Issue 16: a `let` reading a name contracts and positions share (`dte`) works in a leg's
`where` (the contract's dte) and in an exit (the position's)."""

from __future__ import annotations

import numpy as np
import pytest

from rulesengine.check.checker import check_text
from rulesengine.compile import compile_program
from rulesengine.strategies.scan import scan

NEAR = """
strategy: near
universe: [SPX]
let:
  near: dte <= 50
legs:
  short: put where near and delta between -0.30 and -0.20 prefer delta nearest -0.25
  long: put where expiry == short.expiry and strike == short.strike - 25
size:
  contracts: 1
exit:
  stop_loss: pnl <= -10 * max_profit
  close_when_near: near
"""

pytestmark = pytest.mark.anyio


def test_the_let_filters_contracts_in_a_leg(spx_day):
    program = check_text(NEAR).program
    assert program is not None
    result = scan(program, compile_program(program), spx_day)
    rows = result.selection.rows["short"]
    assert len(rows) and (spx_day.column("dte")[rows] <= 50).all()
    assert not np.isin(spx_day.column("dte")[rows], [74]).any()


async def test_the_same_let_reads_the_positions_dte_in_an_exit(harness):
    h = harness({"near.yaml": NEAR.replace("dte <= 50", "dte <= 60")})
    await h.day(0)
    (p,) = h.positions()
    report = await h.day(1)  # 45 days left: the position is `near`
    assert report.exits == 1
    (row,) = [r for r in h.decisions("exit") if r["subject"] == p.id]
    assert row["reason"].startswith("close_when_near")


def test_it_stays_out_of_sections_that_see_neither():
    text = NEAR + "underlying:\n  - near\n"
    result = check_text(text)
    assert any(
        d.code == "E107" and "`let` 'near' uses contract fields" in d.message for d in result.errors
    )
