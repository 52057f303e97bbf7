"""What the paper account checks before it takes an order, and what an order needs.

In order: the instrument's session, the option class's ticks, a two-sided uncrossed market
for every leg, closing legs that close something held, the account's option level, and
buying power (the worst loss at expiry, see brokers.paper.margin) against the cash the
order leaves.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from brokers.futures import is_future_symbol
from brokers.model import Intent, OrderRequest, OrderType
from brokers.occ import parse_occ, underlying_of
from brokers.paper.margin import Market, margin_credit, requirement
from brokers.paper.settings import level_problem
from brokers.pricing import credit_terms
from brokers.ticks import order_tick_error, tick_error

if TYPE_CHECKING:
    from brokers.paper.broker import PaperBroker


class OrderChecks:
    def __init__(self, broker: PaperBroker) -> None:
        self.broker = broker

    def problem(self, order: OrderRequest) -> str | None:
        return (
            self.session_problem(order)
            or self.tick_problem(order)
            or self._market_problem(order)
            or self._closing_problem(order)
            or level_problem(order, self.broker.ledger.settings, self.broker.ledger.quantities())
            or self._buying_power_problem(order)
        )

    def session_problem(self, order: OrderRequest) -> str | None:
        underlying = order.underlying or underlying_of(order.legs[0].symbol)
        closed = self.broker.market_closed(underlying, self.broker.now())
        return f"market closed for {underlying}: {closed}" if closed else None

    def tick_problem(self, order: OrderRequest) -> str | None:
        if order.order_type is OrderType.MARKET:
            return None
        if order.order_type is OrderType.STOP:
            assert order.stop_price is not None, "a stop order has a stop price"
            return order_tick_error(order.legs, order.stop_price)
        root = root_of(order)
        if root:
            return tick_error(root, order.limit_price, len(order.legs))
        if any(is_future_symbol(leg.symbol) for leg in order.legs):
            return order_tick_error(order.legs, order.limit_price)
        return None

    def _market_problem(self, order: OrderRequest) -> str | None:
        for leg in order.legs:
            q = self.broker.book.quote(leg.symbol)
            if q is None:
                return f"no market for {leg.symbol.strip()}: it is not in the latest snapshot"
            if q.bid is None or q.ask is None:
                return f"no two-sided market for {leg.symbol.strip()} (bid {q.bid}, ask {q.ask})"
            if q.bid > q.ask:
                return f"crossed market for {leg.symbol.strip()} (bid {q.bid} > ask {q.ask})"
        return None

    def _closing_problem(self, order: OrderRequest) -> str | None:
        for leg in order.legs:
            if leg.intent is not Intent.CLOSE:
                continue
            held = self.broker.ledger.holdings.get(leg.symbol)
            qty = held.quantity if held else 0
            change = leg.ratio * order.quantity
            if qty == 0 or (qty > 0) == (change > 0) or abs(change) > abs(qty):
                return f"cannot close {change:+d} {leg.symbol.strip()}: the account holds {qty:+d}"
        return None

    def _buying_power_problem(self, order: OrderRequest) -> str | None:
        if all(leg.intent is Intent.CLOSE for leg in order.legs):
            return None  # closing never needs buying power
        after = self.holdings_after(order)
        need = self.requirement(after)
        if need is None:
            if any(is_future_symbol(leg.symbol) for leg in order.legs):
                return "futures trade in a margin account only: set `paper: margin: margin`"
            return (
                "unbounded risk (a naked short call or short stock) is refused by the "
                "paper account; add a long call or hold the shares (or trade in a margin "
                "account: `paper: margin: margin`)"
            )
        cash = self.broker.ledger.cash + self.premium(order) - self.fees(order)
        cash += margin_credit(after, self.multipliers(after), self.market())
        if cash - need < 0:
            return (
                f"not enough buying power: the order needs ${need - cash:,.2f} more "
                f"(requirement ${need:,.2f}, cash after the order ${cash:,.2f})"
            )
        return None

    def requirement_change(self, order: OrderRequest) -> Decimal | None:
        before = self.requirement(self.broker.ledger.quantities())
        after = self.requirement(self.holdings_after(order))
        if before is None or after is None:
            return None
        return after - before - self.premium(order)

    @staticmethod
    def premium(order: OrderRequest) -> Decimal:
        """Dollars the order brings in at its limit (negative for a debit); net prices are
        quoted per 100 units of weight (see brokers.pricing.weight)."""
        return credit_terms(order.limit_price, order.effect) * 100 * order.quantity

    def holdings_after(self, order: OrderRequest) -> dict[str, int]:
        held = self.broker.ledger.quantities()
        for leg in order.legs:
            held[leg.symbol] = held.get(leg.symbol, 0) + leg.ratio * order.quantity
        return held

    def fees(self, order: OrderRequest) -> Decimal:
        each = (
            self.broker.fees.for_symbol(leg.symbol, leg.ratio * order.quantity)
            for leg in order.legs
        )
        return sum(each, Decimal(0))

    def requirement(self, held: dict[str, int]) -> Decimal | None:
        """Worst expiry loss of these holdings (None: unbounded); see brokers.paper.margin."""
        return requirement(held, self.multipliers(held), self.market())

    def multipliers(self, held: dict[str, int]) -> dict[str, int]:
        return {
            s: h.multiplier
            if (h := self.broker.ledger.holdings.get(s))
            else self.broker.book.multiplier(s)
            for s in held
        }

    def market(self) -> Market | None:
        """Prices for the Reg-T requirement of a margin account (None: a cash account)."""
        if self.broker.ledger.settings.margin != "margin":
            return None
        book = self.broker.book
        return Market(book.underlying_price, self.broker.mark_of)


def root_of(request: OrderRequest) -> str:
    """The option class whose tick rules the order's price follows."""
    return next((parse_occ(leg.symbol).root for leg in request.legs if leg.is_option), "")
