"""Minimum price increments: an order off its tick is rejected, with the nearest valid prices.

Classic rule: $0.05 below $3, $0.10 at or above. Penny-program classes trade $0.01 below $3
and $0.05 above; SPY, QQQ and IWM trade pennies at every price. Multi-leg (complex) orders
may trade in pennies in most classes, but SPX/SPXW complex orders keep $0.05 (Cboe rules).
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from brokers.futures import parse_future
from brokers.model import OrderLeg
from brokers.occ import parse_occ

CENT, NICKEL, DIME = Decimal("0.01"), Decimal("0.05"), Decimal("0.10")
THRESHOLD = Decimal(3)

PENNY_ALL = {"SPY", "QQQ", "IWM"}
PENNY_PROGRAM = {
    "AAPL",
    "AMD",
    "AMZN",
    "BAC",
    "DIA",
    "EEM",
    "GLD",
    "GOOGL",
    "META",
    "MSFT",
    "NVDA",
    "SLV",
    "TLT",
    "TSLA",
    "XLF",
    "XSP",
}
NICKEL_COMPLEX = {"SPX", "SPXW", "NDX", "NDXP", "RUT", "RUTW", "VIX", "VIXW"}


def tick_size(root: str, price: Decimal, legs: int = 1) -> Decimal:
    """The increment for a price of this option class (`legs` > 1: a complex order)."""
    root = root.strip().upper()
    if legs > 1:
        return NICKEL if root in NICKEL_COMPLEX else CENT
    if root in PENNY_ALL:
        return CENT
    if root in PENNY_PROGRAM:
        return CENT if price < THRESHOLD else NICKEL
    return NICKEL if price < THRESHOLD else DIME


def on_tick(price: Decimal, tick: Decimal) -> bool:
    return price % tick == 0


def round_to_tick(price: Decimal, tick: Decimal, *, up: bool) -> Decimal:
    rounding = ROUND_CEILING if up else ROUND_FLOOR
    return (price / tick).to_integral_value(rounding=rounding) * tick


def tick_error(root: str, price: Decimal, legs: int) -> str | None:
    """None when the price is valid, else a message naming the valid neighbours."""
    tick = tick_size(root, price, legs)
    if on_tick(price, tick):
        return None
    below, above = round_to_tick(price, tick, up=False), round_to_tick(price, tick, up=True)
    return f"price {price} is not on the {tick} tick for {root.strip()}; use {below} or {above}"


def order_tick(legs: Sequence[OrderLeg], price: Decimal) -> Decimal:
    """The tick of an order's net price per unit (brokers.pricing.weight's convention): the
    option class's where there are options, a futures contract's tick x multiplier / 100,
    else a cent a share."""
    root = next((parse_occ(leg.symbol).root for leg in legs if leg.is_option), "")
    if root:
        return tick_size(root, price, len(legs))
    future = next((c for leg in legs if (c := parse_future(leg.symbol)) is not None), None)
    if future is not None:
        return future.spec.tick * future.spec.multiplier / 100
    return CENT * sum(abs(leg.ratio) for leg in legs) / 100


def order_tick_error(legs: Sequence[OrderLeg], price: Decimal) -> str | None:
    """None when an order's net price is on its tick, else what the valid prices are."""
    tick = order_tick(legs, price)
    if on_tick(price, tick):
        return None
    below, above = round_to_tick(price, tick, up=False), round_to_tick(price, tick, up=True)
    return f"price {price} is not on the {tick} tick of this order; use {below} or {above}"
