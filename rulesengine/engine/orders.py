"""Orders the engine sends: an entry from a ranked candidate, a close, or a roll (one combo
order closing the old legs and opening the new ones). Limits start where the `order:` policy
says (the mid by default, see engine.pricing), rounded to a valid tick on the side that is
easier to fill; the policy's walk, or the broker's own, works them from there.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from brokers.futures import parse_future
from brokers.idempotency import client_key
from brokers.model import Fill, Intent, OrderLeg, OrderRequest, PriceEffect, TimeInForce, Walk
from brokers.occ import is_option_symbol
from brokers.ticks import order_tick, round_to_tick
from rulesengine.engine.positions import PositionLeg


def candidate_legs(record: dict) -> list[PositionLeg]:
    """Position legs from a candidate record (strategies.scan.candidate_records)."""
    legs = []
    for leg in record["legs"]:
        sign = -1 if leg["side"] == "sell" else 1
        if leg["kind"] == "stock":
            legs.append(PositionLeg(leg["leg"], leg["symbol"], sign * leg["count"], "stock"))
        else:
            legs.append(
                PositionLeg(
                    leg["leg"],
                    leg["symbol"],
                    sign * leg["count"],
                    leg["kind"],
                    float(leg["strike"] or 0.0),  # a future has none
                    leg["expiry"],
                )
            )
    return legs


def order_legs(legs: list[PositionLeg], intent: Intent, closing: bool = False) -> list[OrderLeg]:
    flip = -1 if closing else 1
    return [OrderLeg(leg.symbol, flip * leg.ratio, intent) for leg in legs]


def limit_for(credit: float, legs: list[OrderLeg]) -> tuple[Decimal, PriceEffect]:
    """A positive limit on a valid tick, and its effect, from a net credit (debit negative).

    Credits round down and debits round up: the marketable side of the mid."""
    effect = PriceEffect.CREDIT if credit > 0 else PriceEffect.DEBIT
    price = Decimal(str(round(abs(credit), 6)))
    tick = order_tick(legs, price)
    rounded = round_to_tick(price, tick, up=effect is PriceEffect.DEBIT)
    return max(rounded, tick), effect


def request(
    strategy: str,
    version: str,
    decided_at: datetime,
    legs: list[OrderLeg],
    quantity: int,
    credit: float,
    underlying: str,
    tif: TimeInForce = TimeInForce.DAY,
    walk: Walk | None = None,
) -> OrderRequest:
    price, effect = limit_for(credit, legs)
    key = client_key(strategy, version, decided_at, tuple(legs))
    return OrderRequest(
        tuple(legs), quantity, price, effect, key, underlying=underlying, time_in_force=tif,
        walk=walk,
    )  # fmt: skip


def net_credit(fills: tuple[Fill, ...], symbols: set[str], units: int) -> float:
    """Per-unit net credit of the fills of `symbols` (a roll's old or new legs)."""
    if units <= 0:
        return 0.0
    total = 0.0
    for fill in fills:
        if fill.symbol in symbols:
            total -= fill.quantity * float(fill.price) * unit_weight(fill.symbol)
    return total / units


def unit_weight(symbol: str) -> float:
    """What one unit of a symbol weighs in per-share prices (x 100 for dollars): a contract
    1, a share 1/100, a futures contract its multiplier / 100."""
    if is_option_symbol(symbol):
        return 1.0
    contract = parse_future(symbol)
    return contract.spec.multiplier / 100 if contract is not None else 0.01
