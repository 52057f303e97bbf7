"""The shares (or futures contracts) a position holds as its delta hedge, kept in the
position itself.

Each hedge order's fills are recorded under its key (so re-reading an order's fills never
counts them twice); the totals are what the position holds and what the hedges cost:

    held     net units of each hedge symbol: shares of the underlying, or futures contracts
    cash     money the hedge trades brought in (negative: paid), before fees
    fees     their fees

A hedged position's P&L is its options' plus the hedges' value plus `cash`, its delta the
options' plus the hedges' (a share 1, a futures contract its multiplier); closing it
flattens them, and it is booked closed when its options and its hedge are both done (see
engine.hedging).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from brokers.futures import parse_future
from brokers.model import Fill
from rulesengine.engine.positions import Position

HEDGE = "hedge"


@dataclass(frozen=True)
class HedgeState:
    held: Mapping[str, int] = field(default_factory=dict)
    cash: float = 0.0
    fees: float = 0.0

    @property
    def flat(self) -> bool:
        return not any(self.held.values())

    @property
    def delta(self) -> float:
        """The hedges' delta in units of the underlying (a futures contract: its multiplier)."""
        return float(sum(qty * units_per(symbol) for symbol, qty in self.held.items()))


def units_per(symbol: str) -> int:
    """Units of the underlying one unit of a hedge symbol moves like: a share 1, a futures
    contract its multiplier."""
    contract = parse_future(symbol)
    return contract.spec.multiplier if contract is not None else 1


def hedge_of(p: Position) -> HedgeState:
    state = p.detail.get(HEDGE)
    if not state:
        return HedgeState()
    return HedgeState(dict(state["held"]), float(state["cash"]), float(state["fees"]))


def record_fills(p: Position, key: str, fills: Iterable[Fill]) -> HedgeState:
    """Book one hedge order's fills so far (all of them, as the broker reports them)."""
    held: dict[str, int] = {}
    cash = fees = 0.0
    for fill in fills:
        held[fill.symbol] = held.get(fill.symbol, 0) + fill.quantity
        cash -= fill.quantity * float(fill.price) * units_per(fill.symbol)
        fees += float(fill.fees)
    state = p.detail.setdefault(HEDGE, {"held": {}, "cash": 0.0, "fees": 0.0, "orders": {}})
    state["orders"][key] = {"held": held, "cash": round(cash, 6), "fees": round(fees, 6)}
    orders = state["orders"].values()
    totals: dict[str, int] = {}
    for order in orders:
        for symbol, qty in order["held"].items():
            totals[symbol] = totals.get(symbol, 0) + qty
    state["held"] = {symbol: qty for symbol, qty in totals.items() if qty}
    state["cash"] = round(sum(o["cash"] for o in orders), 6)
    state["fees"] = round(sum(o["fees"] for o in orders), 6)
    return hedge_of(p)
