"""The first limit and the walk of an order, from the `order:` policy and this tick's quotes.

The structure's market is read off the snapshot leg by leg with the brokers' weights (a
contract counts 1, a share 1/100), so a price rule sees the bid and ask the broker will.
Without a usable quote for every leg the order goes at the mid the rules computed.
"""

from __future__ import annotations

import math
from dataclasses import replace
from decimal import Decimal

from brokers.futures import is_future_symbol
from brokers.model import OrderLeg, OrderRequest, OrderType, Walk
from brokers.occ import is_option_symbol
from brokers.ticks import order_tick, round_to_tick
from rulesengine.data.chain import Chain
from rulesengine.engine import orders
from rulesengine.engine.context import TickContext
from rulesengine.engine.marks import SymbolIndex
from rulesengine.engine.policy import OrderPolicy
from rulesengine.language.prices import LimitPrice, Quote


def structure_quote(chain: Chain, index: SymbolIndex, legs: list[OrderLeg]) -> Quote | None:
    """The legs' combined market in the order's own terms (None: a leg has no quote)."""
    mid = natural = far = 0.0
    bids, asks = chain.column("bid"), chain.column("ask")
    prices = chain.column("underlying_price")
    for leg in legs:
        listed = is_option_symbol(leg.symbol) or is_future_symbol(leg.symbol)
        row = index.row(leg.symbol, "call" if listed else "stock")
        if row < 0:
            return None
        weight = leg.ratio * orders.unit_weight(leg.symbol)
        if listed:  # a contract with its own quote
            bid, ask = float(bids[row]), float(asks[row])
        else:  # a stock leg trades at the underlying's price
            bid = ask = float(prices[row])
        if not (math.isfinite(bid) and math.isfinite(ask)) or bid > ask:
            return None
        mid -= weight * (bid + ask) / 2
        natural -= weight * (ask if weight > 0 else bid)
        far -= weight * (bid if weight > 0 else ask)
    if mid > 0:  # the order receives money: selling fills at the bid
        return Quote(bid=natural, ask=far, sells=True)
    return Quote(bid=-far, ask=-natural, sells=False)


def limit_credit(rule: LimitPrice, quote: Quote | None, mid_credit: float) -> float:
    """The first limit in credit terms (a debit negative) by the policy's price rule."""
    if quote is None:
        return mid_credit
    price = rule.price(quote)
    return price if quote.sells else -price


def broker_walk(policy: OrderPolicy, quote: Quote | None, legs: list[OrderLeg]) -> Walk | None:
    """The walk the broker works the order by (None: its own default)."""
    if policy.walk_off:
        return Walk(ticks=0)
    if policy.walk is None:
        return None
    stop = None
    if quote is not None:
        raw = Decimal(str(round(max(policy.walk.stop.price(quote), 0.0), 6)))
        tick = order_tick(legs, raw)
        # on the tick on the mid's side: a stop never allows more slippage than it says
        stop = max(round_to_tick(raw, tick, up=quote.sells), tick)
    return Walk(policy.walk.every_s, policy.walk.ticks, stop)


def priced_request(
    ctx: TickContext,
    policy: OrderPolicy,
    purpose: str,
    strategy: str,
    version: str,
    legs: list[OrderLeg],
    quantity: int,
    mid_credit: float,
    underlying: str,
) -> OrderRequest:
    """An `entry`, `exit` or `roll` order priced and walked by the strategy's policy."""
    quote = structure_quote(ctx.market, ctx.index, legs)
    credit = limit_credit(policy.limit_rule(purpose), quote, mid_credit)
    walk = broker_walk(policy, quote, legs)
    req = orders.request(
        strategy, version, ctx.now, legs, quantity, credit, underlying, policy.tif, walk
    )
    if policy.market and not any(leg.is_option for leg in legs):  # options: always limits
        return replace(req, order_type=OrderType.MARKET, walk=None)
    return req
