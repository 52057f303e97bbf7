"""Combo prices: mid and natural of a multi-leg order, and the walk from mid to natural.

Prices are in "credit terms" inside this module: positive means the account receives money.
A leg's weight is its signed ratio times its multiplier / 100, so a buy-write (100 shares,
one short call) is priced per share like brokers quote it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal

from brokers.futures import parse_future
from brokers.model import OrderLeg, OrderRequest, PriceEffect, Quote
from brokers.ticks import round_to_tick


@dataclass(frozen=True)
class ComboMarket:
    mid: Decimal  # credit terms, per unit
    natural: Decimal  # what crossing every leg's spread gets, credit terms

    @property
    def half_spread(self) -> Decimal:
        return self.mid - self.natural


def weight(leg: OrderLeg, multiplier: int) -> Decimal:
    return Decimal(leg.ratio * multiplier) / 100


def quoted_stop(order: OrderRequest) -> Decimal:
    """A stop order's trigger as the broker's API takes it (see `quoted_price`)."""
    assert order.stop_price is not None, "a stop order has a stop price"
    return quoted_price(replace(order, limit_price=order.stop_price))


def quoted_price(order: OrderRequest) -> Decimal:
    """The limit as a broker's API takes it: the net price per unit, except for an order of
    shares alone, which brokers price per share, and an order of futures, priced in the
    contract's points (here a unit of weight prices 100 shares, or multiplier / 100 points)."""
    future = next((c for leg in order.legs if (c := parse_future(leg.symbol)) is not None), None)
    if future is not None:
        return order.limit_price * 100 / future.spec.multiplier
    if len(order.legs) == 1 and not order.legs[0].is_option:
        return order.limit_price * 100 / abs(order.legs[0].ratio)
    return order.limit_price


def combo_market(
    legs: tuple[OrderLeg, ...], quotes: dict[str, Quote], multipliers: dict[str, int]
) -> ComboMarket | None:
    """None when any leg lacks a two-sided, uncrossed market."""
    mid = natural = Decimal(0)
    for leg in legs:
        quote = quotes.get(leg.symbol)
        if quote is None or not quote.is_two_sided or quote.bid is None or quote.ask is None:
            return None
        w = weight(leg, multipliers.get(leg.symbol, 100))
        mid -= w * (quote.bid + quote.ask) / 2
        natural -= w * (quote.ask if w > 0 else quote.bid)
    return ComboMarket(mid, natural)


def credit_terms(price: Decimal, effect: PriceEffect) -> Decimal:
    return effect.signed(price)


def step_toward_natural(
    current: Decimal, effect: PriceEffect, market: ComboMarket, tick: Decimal, ticks: int
) -> Decimal:
    """The next working price: `ticks` closer to natural, never past it, never flipping
    a credit into a debit (or the reverse). Returns a positive price with the same effect."""
    now = credit_terms(current, effect)
    # Less credit (or more debit) is more aggressive; a price already past natural stays.
    nxt = max(now - ticks * tick, min(now, market.natural))
    nxt = round_to_tick(nxt, tick, up=True)  # rounding up never crosses natural
    nxt = max(nxt, tick) if effect is PriceEffect.CREDIT else min(nxt, -tick)
    return abs(nxt)
