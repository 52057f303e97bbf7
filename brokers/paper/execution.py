"""How the paper account works its orders and its holdings as market time passes.

Each step (see PaperBroker.step): expirations settle (index options for cash, equity options
into shares, against the underlying's settlement price), day orders expire after their
session, working orders walk from their anchor toward natural in the fill policy's steps,
and a marketable order fills at its limit or at natural, leg by leg between mid and natural,
the displayed size allowing (brokers.paper.fills).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from brokers.futures import parse_future
from brokers.model import (
    Fill,
    Order,
    OrderRequest,
    OrderStatus,
    OrderType,
    PriceEffect,
    Quote,
    TimeInForce,
)
from brokers.occ import is_index, is_option_symbol, parse_occ, underlying_of
from brokers.paper.fills import (
    fill_credit,
    fillable_units,
    is_share_order,
    leg_prices,
    on_whole_cents,
)
from brokers.pricing import ComboMarket, combo_market, credit_terms, step_toward_natural
from brokers.settlement import intrinsic, settles
from brokers.ticks import order_tick

if TYPE_CHECKING:
    from brokers.paper.broker import PaperBroker


NEW_YORK = ZoneInfo("America/New_York")


class OrderExecution:
    def __init__(self, broker: PaperBroker) -> None:
        self.broker = broker

    def work(self, order_id: str) -> None:
        order = self.broker.ledger.orders[order_id]
        if self.broker.checks.session_problem(order.request):
            return  # nothing fills while the market is closed; the order rests
        found = self.market(order.request)
        if found is None:
            return
        quotes, market = found
        request = order.request
        if request.order_type is OrderType.STOP and not _triggered(request, market):
            return  # rests until the market trades through the stop
        limit = None
        if request.order_type is OrderType.LIMIT:
            limit = credit_terms(request.limit_price, request.effect)
            fill = fill_credit(limit, market, self.broker.policy.slippage)
        else:  # market (or a triggered stop): the other side's price, at once
            fill = market.natural
        remaining = order.request.quantity - order.filled_quantity
        if fill is None or remaining <= 0:
            return
        units = fillable_units(request.legs, quotes, remaining, self.broker.policy)
        if units <= 0:
            return
        if is_share_order(request.legs):
            (leg,) = request.legs
            fill, per_share = on_whole_cents(leg, fill, limit)
            self._execute(order, units, fill, {leg.symbol: per_share})
            return
        self._execute(order, units, fill, leg_prices(request.legs, quotes, market, fill))

    def _execute(self, order: Order, units: int, fill: Decimal, prices: dict[str, Decimal]) -> None:
        now = self.broker.now()
        fills = []
        for n, leg in enumerate(order.request.legs):
            qty = leg.ratio * units
            mult = self.broker.book.multiplier(leg.symbol)
            fee = self.broker.fees.for_symbol(leg.symbol, qty)
            self.broker.ledger.book(
                leg.symbol, qty, prices[leg.symbol], mult, underlying_of(leg.symbol)
            )
            self.broker.ledger.cash -= fee
            fills.append(
                Fill(
                    order.id,
                    leg.symbol,
                    qty,
                    prices[leg.symbol],
                    now,
                    fee,
                    f"{order.id}-{len(order.fills) + n + 1}",
                )
            )
        filled = order.filled_quantity + units
        net = order.request.effect.signed(fill)  # positive price in the order's own terms
        average = (
            net
            if order.average_price is None
            else (order.average_price * order.filled_quantity + net * units) / filled
        )
        status = (
            OrderStatus.FILLED if filled == order.request.quantity else OrderStatus.PARTIALLY_FILLED
        )
        updated = replace(
            order,
            status=status,
            filled_quantity=filled,
            average_price=average,
            fills=order.fills + tuple(fills),
            updated=now,
        )
        self.broker.store(updated, fills)

    def reprice(self, order: Order) -> None:
        """Walk a working order toward natural: the order's own `walk` (the engine's `order:
        walk:` policy) or the fill policy's default steps."""
        request = order.request
        walk = request.walk
        if request.order_type is not OrderType.LIMIT:
            return  # a market or stop order has no limit to walk
        if walk is None and not self.broker.policy.reprice:
            return
        every = timedelta(seconds=walk.every_s) if walk else self.broker.policy.step_every
        ticks_per_step = walk.ticks if walk else self.broker.policy.step_ticks
        if ticks_per_step <= 0:
            return
        # The walk is measured from the last price the engine chose (placement or replace).
        since, anchor = self.broker.ledger.anchors.get(
            order.id, (self.broker.now(), request.limit_price)
        )
        steps = int((self.broker.now() - since) / every)
        if steps <= 0:
            return
        found = self.market(request)
        if found is None:
            return
        tick = order_tick(request.legs, anchor)
        price = step_toward_natural(anchor, request.effect, found[1], tick, steps * ticks_per_step)
        if walk is not None and walk.stop is not None:
            price = _not_past(price, walk.stop, request.effect, anchor)
        if price != request.limit_price:
            self.broker.store(
                replace(order, request=request.with_price(price), updated=self.broker.now())
            )

    def day_over(self, order: Order) -> bool:
        if order.request.time_in_force is not TimeInForce.DAY:
            return False
        placed = self.broker.ledger.placed_at.get(order.id)
        if placed is None:
            return False
        now = self.broker.now().astimezone(NEW_YORK)
        return now.date() > placed.astimezone(NEW_YORK).date()

    def settle_expired(self) -> None:
        now = self.broker.now().astimezone(NEW_YORK)
        for symbol, held in list(self.broker.ledger.holdings.items()):
            future = parse_future(symbol)
            if future is not None and settles(future.expiry, now):
                self._settle_future(symbol, held.quantity, future.expiry)
            if not is_option_symbol(symbol):
                continue
            c = parse_occ(symbol)
            listed = self.broker.book.entry(symbol)
            # the listing knows the true last day (old SPX symbols say Saturday)
            expiry = listed.contract.expiry if listed is not None else c.expiry
            if not settles(expiry, now):
                continue
            spot = self.broker.ledger.spots.settlement_price(held.underlying, expiry)
            if spot is None:
                continue  # settle once the underlying's price is known
            self._settle(symbol, held.quantity, c.right, c.strike, spot, held.underlying)

    def _settle_future(self, symbol: str, qty: int, expiry) -> None:
        """An index future held to expiry settles in cash at its last price that day (the
        index's, where the contract converges)."""
        price = self.broker.ledger.spots.settlement_price(symbol, expiry)
        if price is None:
            return  # settle once a price of the contract is known
        mult = self.broker.ledger.holdings[symbol].multiplier
        del self.broker.ledger.holdings[symbol]
        self.broker.ledger.cash += qty * price * mult
        self.broker.ledger.settlements.append(
            {
                "symbol": symbol,
                "quantity": str(qty),
                "kind": "cash settlement",
                "underlying_price": str(price),
                "time": self.broker.now().isoformat(),
            }
        )
        self.broker.save()

    def _settle(
        self, symbol: str, qty: int, right: str, strike: Decimal, spot: Decimal, underlying: str
    ) -> None:
        value = intrinsic(right, strike, spot)
        mult = self.broker.ledger.holdings[symbol].multiplier
        del self.broker.ledger.holdings[symbol]
        if is_index(underlying):
            kind = "cash settlement"
            self.broker.ledger.cash += qty * value * mult
        elif value >= Decimal("0.01"):
            kind = "exercise" if qty > 0 else "assignment"
            shares = qty * mult if right == "C" else -qty * mult
            self.broker.ledger.book(underlying, shares, strike, 1, underlying)
        else:
            kind = "expired worthless"
        self.broker.ledger.settlements.append(
            {
                "symbol": symbol,
                "quantity": str(qty),
                "kind": kind,
                "underlying_price": str(spot),
                "time": self.broker.now().isoformat(),
            }
        )
        self.broker.save()

    def market(self, request: OrderRequest) -> tuple[dict[str, Quote], ComboMarket] | None:
        """The legs' quotes and the combo's mid and natural; None without a usable market."""
        found = {leg.symbol: self.broker.book.quote(leg.symbol) for leg in request.legs}
        quotes = {symbol: q for symbol, q in found.items() if q is not None}
        if len(quotes) < len(found):
            return None
        multipliers = {leg.symbol: self.broker.book.multiplier(leg.symbol) for leg in request.legs}
        market = combo_market(request.legs, quotes, multipliers)
        return None if market is None else (quotes, market)


def _not_past(price: Decimal, stop: Decimal, effect: PriceEffect, anchor: Decimal) -> Decimal:
    """The walked price, held at the walk's stop (a slippage limit): a sell never asks less
    than the stop, a buy never pays more; an order placed past its stop stays where it was."""
    if effect is PriceEffect.CREDIT:
        return max(price, min(stop, anchor))
    return min(price, max(stop, anchor))


def _triggered(request: OrderRequest, market: ComboMarket) -> bool:
    """A stop that sells triggers when the bid falls to its price or below; one that buys,
    when the ask rises to it (per unit of weight, as the stop is given). In credit terms both
    read: what crossing the market brings in is no better than the stop."""
    assert request.stop_price is not None, "a stop order has a stop price"
    return market.natural <= credit_terms(request.stop_price, request.effect)
