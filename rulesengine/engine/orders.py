"""Orders the engine sends: an entry from a ranked candidate, a close, or a roll (one combo
order closing the old legs and opening the new ones). Limits start where the `order:` policy
says (the mid by default, see engine.pricing), rounded to a valid tick on the side that is
easier to fill; the policy's walk, or the broker's own, works them from there.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from brokers.idempotency import client_key
from brokers.model import Fill, Intent, OrderLeg, OrderRequest, PriceEffect, TimeInForce, Walk
from brokers.occ import is_option_symbol, parse_occ
from brokers.ticks import round_to_tick, tick_size
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
                    float(leg["strike"]),
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
    root = next((parse_occ(leg.symbol).root for leg in legs if is_option_symbol(leg.symbol)), "")
    if root:
        tick = tick_size(root, price, len(legs))
        rounded = round_to_tick(price, tick, up=effect is PriceEffect.DEBIT)
        return max(rounded, tick), effect
    # shares only: a cent a share, in the per-100-units convention (brokers.pricing.weight)
    tick = Decimal("0.01") * sum(abs(leg.ratio) for leg in legs) / 100
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
            weight = 1.0 if is_option_symbol(fill.symbol) else 0.01
            total -= fill.quantity * float(fill.price) * weight
    return total / units
