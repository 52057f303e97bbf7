"""The shares a position holds as its delta hedge, kept in the position itself.

Each hedge order's fills are recorded under its key (so re-reading an order's fills never
counts them twice); the totals are what the position holds and what the hedges cost:

    shares   net shares of the underlying held as the hedge (negative: short)
    cash     money the hedge trades brought in (negative: paid), before fees
    fees     their fees

A hedged position's P&L is its options' plus `shares x price + cash`, its delta the options'
plus `shares`; closing it flattens the shares, and it is booked closed when both its options
and its hedge are done (see engine.hedging).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from brokers.model import Fill
from rulesengine.engine.positions import Position

HEDGE = "hedge"


@dataclass(frozen=True)
class HedgeState:
    shares: int = 0
    cash: float = 0.0
    fees: float = 0.0


def hedge_of(p: Position) -> HedgeState:
    state = p.detail.get(HEDGE)
    if not state:
        return HedgeState()
    return HedgeState(int(state["shares"]), float(state["cash"]), float(state["fees"]))


def record_fills(p: Position, key: str, fills: Iterable[Fill]) -> HedgeState:
    """Book one hedge order's fills so far (all of them, as the broker reports them)."""
    shares = cash = fees = 0.0
    for fill in fills:
        shares += fill.quantity
        cash -= fill.quantity * float(fill.price)
        fees += float(fill.fees)
    state = p.detail.setdefault(HEDGE, {"shares": 0, "cash": 0.0, "fees": 0.0, "orders": {}})
    state["orders"][key] = [int(shares), round(cash, 6), round(fees, 6)]
    orders = state["orders"].values()
    state["shares"] = sum(o[0] for o in orders)
    state["cash"] = round(sum(o[1] for o in orders), 6)
    state["fees"] = round(sum(o[2] for o in orders), 6)
    return hedge_of(p)
