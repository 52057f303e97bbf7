"""Issue 15: a 16-delta short strangle trades on paper in a margin account at level 4, with
the buying power a broker's Reg-T rules would leave; a cash account refuses it and says why."""

from __future__ import annotations

from decimal import Decimal

import pytest

from brokers.occ import parse_occ
from brokers.paper.margin import Market, reg_t

pytestmark = pytest.mark.anyio

STRANGLE = """
strategy: strangle
universe: [SPX]
legs:
  short_put: sell put where dte between 30 and 60 and delta between -0.20 and -0.12 and bid > 0
             prefer delta nearest -0.16
  short_call: sell call where expiry == short_put.expiry and delta between 0.12 and 0.20
              and bid > 0 prefer delta nearest 0.16
entry:
  - credit >= $1.00
size:
  contracts: 1
exit:
  take_profit: pnl >= 50% of max_profit
  stop_loss: pnl <= -2 * entry_credit
"""


def risk(margin: str, level: int) -> str:
    return f"portfolio: risk\npaper:\n  cash: 250000\n  option_level: {level}\n  margin: {margin}\n"


async def test_a_strangle_trades_with_reg_t_buying_power(harness):
    h = harness({"strangle.yaml": STRANGLE, "risk.yaml": risk("margin", 4)})
    report = await h.day(0)
    assert report.entries == 1
    (p,) = h.positions("open")
    account = await h.broker.account()
    held = h.broker.ledger.quantities()
    price = h.broker.book.underlying_price("SPX")
    legs = [(parse_occ(s).right, parse_occ(s).strike, q * 100) for s, q in held.items() if q]
    symbols = [s for s, q in held.items() if q]

    need = reg_t("SPX", legs, symbols, Market(lambda u: price, h.broker.mark_of))
    assert need is not None and need > 0
    assert account.buying_power == account.cash - need
    # the greater side's 15% of SPX (less its out-of-the-money amount) is far below the
    # strike a cash account would have to hold
    put_strike = next(leg.strike for leg in p.legs if leg.kind == "put")
    assert need < Decimal(str(put_strike)) * 100 / 3


async def test_a_cash_account_refuses_the_naked_call_and_says_so(harness):
    h = harness({"strangle.yaml": STRANGLE, "risk.yaml": risk("cash", 3)})
    report = await h.day(0)
    assert report.entries == 0
    (candidate,) = [r for r in h.decisions("candidate")]
    assert "does not allow uncovered short options" in candidate["reason"]
