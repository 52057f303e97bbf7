"""The paper broker: the default, what tests and the demo trade through.

It fills against the QuoteBook the engine feeds it (see brokers.paper.fills), checks ticks,
markets and buying power before accepting an order, walks working orders toward natural,
settles expirations (cash for index options, shares for equity options) and keeps its whole
state in one JSON file, so a restart resumes where it stopped.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from brokers.errors import InvalidRequest, NotFound, OrderRejected
from brokers.model import (
    Account,
    Capabilities,
    ChainEntry,
    Fill,
    Intent,
    Order,
    OrderEvent,
    OrderRequest,
    OrderStatus,
    Position,
    Preview,
    Quote,
    TimeInForce,
)
from brokers.occ import is_index, is_option_symbol, parse_occ, underlying_of
from brokers.paper.fills import (
    FeeSchedule,
    FillPolicy,
    fill_credit,
    fillable_units,
    leg_prices,
)
from brokers.paper.ledger import Ledger
from brokers.paper.margin import requirement
from brokers.paper.market import QuoteBook
from brokers.paper.settings import AccountSettings, level_problem
from brokers.pricing import ComboMarket, combo_market, credit_terms, step_toward_natural
from brokers.settlement import intrinsic, settles
from brokers.ticks import tick_error, tick_size

NEW_YORK = ZoneInfo("America/New_York")
DEFAULT_CASH = AccountSettings().cash


class PaperBroker:
    name = "paper"
    live = False
    capabilities = Capabilities(
        preview=True,
        replace=True,
        streaming_quotes=False,
        client_order_ids=True,
        sandbox=True,
        notes=("fills against the engine's latest market snapshot",),
    )

    def __init__(
        self,
        book: QuoteBook | None = None,
        *,
        state_path: Path | None = None,
        starting_cash: Decimal = DEFAULT_CASH,
        settings: AccountSettings | None = None,
        policy: FillPolicy | None = None,
        fees: FeeSchedule | None = None,
        market_closed: Callable[[str, datetime], str | None] | None = None,
    ) -> None:
        self.book = book or QuoteBook()
        self.policy = policy or FillPolicy()
        self.fees = fees or FeeSchedule()
        self._path = state_path
        if state_path is not None and state_path.exists():
            self.ledger = Ledger.load(state_path)
        else:
            chosen = settings or AccountSettings(cash=Decimal(starting_cash))
            self.ledger = Ledger(cash=chosen.cash, settings=chosen)
        self._queues: list[asyncio.Queue[OrderEvent]] = []
        # why `underlying` cannot trade at a time (None: open); without one, always open
        self.market_closed = market_closed or (lambda underlying, at: None)

    # -- reading ---------------------------------------------------------------------

    async def account(self) -> Account:
        need = self._requirement(self.ledger.quantities())
        value = sum((self._value(s) for s in self.ledger.holdings), Decimal(0))
        available = self.ledger.cash - need if need is not None else Decimal(0)
        warnings = (
            ()
            if need is not None
            else ("unbounded risk held (naked call or short stock): opening orders are refused",)
        )
        return Account(
            account_id="PAPER",
            net_liquidation=self.ledger.cash + value,
            buying_power=available,
            option_buying_power=available,
            cash=self.ledger.cash,
            option_level=self.ledger.settings.option_level,
            warnings=warnings,
        )

    async def positions(self) -> list[Position]:
        return [
            Position(
                symbol=s,
                quantity=h.quantity,
                average_price=h.average_price,
                multiplier=h.multiplier,
                underlying=h.underlying,
                mark=self._mark(s),
            )
            for s, h in sorted(self.ledger.holdings.items())
        ]

    async def option_chain(self, underlying: str) -> list[ChainEntry]:
        entries = self.book.chain(underlying)
        if not entries:
            raise NotFound(
                f"no market data for {underlying} has been fed to the paper account",
                broker=self.name,
            )
        return entries

    async def quotes(self, symbols: Sequence[str]) -> dict[str, Quote]:
        return {s: q for s in symbols if (q := self.book.quote(s)) is not None}

    async def order(self, order_id: str) -> Order:
        try:
            return self.ledger.orders[order_id]
        except KeyError:
            raise NotFound(f"no order {order_id}", broker=self.name) from None

    async def find_order(self, client_key: str) -> Order | None:
        return self.ledger.by_key(client_key)

    # -- orders ------------------------------------------------------------------------

    async def preview(self, order: OrderRequest) -> Preview:
        problem = self._problem(order)
        need = self._requirement_change(order)
        return Preview(
            accepted=problem is None,
            buying_power_effect=need,
            fees=self._fees(order),
            errors=() if problem is None else (problem,),
            source=self.name,
        )

    async def place(self, order: OrderRequest) -> Order:
        existing = self.ledger.by_key(order.client_key)
        if existing is not None:
            return existing  # the same decision, retried: never a second order
        problem = self._problem(order)
        if problem is not None:
            raise OrderRejected(problem, broker=self.name)
        placed = Order(
            id=self.ledger.new_order_id(),
            client_key=order.client_key,
            status=OrderStatus.WORKING,
            request=order,
            updated=self._now(),
        )
        self.ledger.placed_at[placed.id] = self._now()
        self.ledger.anchors[placed.id] = (self._now(), order.limit_price)
        self._store(placed)
        self._work(placed.id)
        return self.ledger.orders[placed.id]

    async def replace(self, order_id: str, limit_price: Decimal) -> Order:
        current = await self.order(order_id)
        if current.status.is_final:
            raise InvalidRequest(
                f"order {order_id} is {current.status}; nothing to replace", broker=self.name
            )
        request = current.request.with_price(limit_price)
        problem = self._tick_problem(request)
        if problem:
            raise OrderRejected(problem, broker=self.name)
        self.ledger.anchors[order_id] = (self._now(), limit_price)
        self._store(replace(current, request=request, updated=self._now()))
        self._work(order_id)
        return self.ledger.orders[order_id]

    async def cancel(self, order_id: str) -> Order:
        current = await self.order(order_id)
        if current.status.is_final:
            return current
        self._store(
            replace(
                current,
                status=OrderStatus.CANCELLED,
                reason="cancelled by request",
                updated=self._now(),
            )
        )
        return self.ledger.orders[order_id]

    async def step(self) -> None:
        """Advance to the book's current time: settle expiries, expire day orders, reprice
        and fill working orders. The engine calls this after each market update."""
        for underlying, price in self.book.underlying_prices().items():
            self.ledger.spots.see(underlying, price, self._now())
        self._settle_expired()
        for order in list(self.ledger.orders.values()):
            if order.status.is_final:
                continue
            if self._day_over(order):
                self._store(
                    replace(
                        order,
                        status=OrderStatus.EXPIRED,
                        updated=self._now(),
                        reason="day order not filled by the close",
                    )
                )
                continue
            self._reprice(order)
            self._work(order.id)

    async def events(self) -> AsyncIterator[OrderEvent]:
        queue: asyncio.Queue[OrderEvent] = asyncio.Queue()
        self._queues.append(queue)
        try:
            while True:
                yield await queue.get()
        finally:
            self._queues.remove(queue)

    async def aclose(self) -> None:
        self._save()

    # -- checks ------------------------------------------------------------------------

    def _problem(self, order: OrderRequest) -> str | None:
        return (
            self._session_problem(order)
            or self._tick_problem(order)
            or self._market_problem(order)
            or self._closing_problem(order)
            or level_problem(order, self.ledger.settings, self.ledger.quantities())
            or self._buying_power_problem(order)
        )

    def _session_problem(self, order: OrderRequest) -> str | None:
        underlying = order.underlying or underlying_of(order.legs[0].symbol)
        closed = self.market_closed(underlying, self._now())
        return f"market closed for {underlying}: {closed}" if closed else None

    def _tick_problem(self, order: OrderRequest) -> str | None:
        root = _root(order)
        return tick_error(root, order.limit_price, len(order.legs)) if root else None

    def _market_problem(self, order: OrderRequest) -> str | None:
        for leg in order.legs:
            q = self.book.quote(leg.symbol)
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
            held = self.ledger.holdings.get(leg.symbol)
            qty = held.quantity if held else 0
            change = leg.ratio * order.quantity
            if qty == 0 or (qty > 0) == (change > 0) or abs(change) > abs(qty):
                return f"cannot close {change:+d} {leg.symbol.strip()}: the account holds {qty:+d}"
        return None

    def _buying_power_problem(self, order: OrderRequest) -> str | None:
        if all(leg.intent is Intent.CLOSE for leg in order.legs):
            return None  # closing never needs buying power
        need = self._requirement(self._holdings_after(order))
        if need is None:
            return (
                "unbounded risk (a naked short call or short stock) is refused by the "
                "paper account; add a long call or hold the shares"
            )
        cash = self.ledger.cash + self._premium(order) - self._fees(order)
        if cash - need < 0:
            return (
                f"not enough buying power: the order needs ${need - cash:,.2f} more "
                f"(requirement ${need:,.2f}, cash after the order ${cash:,.2f})"
            )
        return None

    def _requirement_change(self, order: OrderRequest) -> Decimal | None:
        before = self._requirement(self.ledger.quantities())
        after = self._requirement(self._holdings_after(order))
        if before is None or after is None:
            return None
        return after - before - self._premium(order)

    @staticmethod
    def _premium(order: OrderRequest) -> Decimal:
        """Dollars the order brings in at its limit (negative for a debit); net prices are
        quoted per 100 units of weight (see brokers.pricing.weight)."""
        return credit_terms(order.limit_price, order.effect) * 100 * order.quantity

    def _holdings_after(self, order: OrderRequest) -> dict[str, int]:
        held = self.ledger.quantities()
        for leg in order.legs:
            held[leg.symbol] = held.get(leg.symbol, 0) + leg.ratio * order.quantity
        return held

    # -- execution ---------------------------------------------------------------------

    def _work(self, order_id: str) -> None:
        order = self.ledger.orders[order_id]
        if self._session_problem(order.request):
            return  # nothing fills while the market is closed; the order rests
        found = self._market(order.request)
        if found is None:
            return
        quotes, market = found
        limit = credit_terms(order.request.limit_price, order.request.effect)
        fill = fill_credit(limit, market, self.policy.slippage)
        remaining = order.request.quantity - order.filled_quantity
        if fill is None or remaining <= 0:
            return
        units = fillable_units(order.request.legs, quotes, remaining, self.policy)
        if units <= 0:
            return
        self._execute(order, units, fill, leg_prices(order.request.legs, quotes, market, fill))

    def _execute(self, order: Order, units: int, fill: Decimal, prices: dict[str, Decimal]) -> None:
        now = self._now()
        fills = []
        for n, leg in enumerate(order.request.legs):
            qty = leg.ratio * units
            mult = self.book.multiplier(leg.symbol)
            fee = self.fees.for_leg(
                qty, option=is_option_symbol(leg.symbol), index=is_index(underlying_of(leg.symbol))
            )
            self.ledger.book(leg.symbol, qty, prices[leg.symbol], mult, underlying_of(leg.symbol))
            self.ledger.cash -= fee
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
        self._store(updated, fills)

    def _reprice(self, order: Order) -> None:
        if not self.policy.reprice:
            return
        # The walk is measured from the last price the engine chose (placement or replace).
        since, anchor = self.ledger.anchors.get(order.id, (self._now(), order.request.limit_price))
        steps = int((self._now() - since) / self.policy.step_every)
        if steps <= 0:
            return
        request = order.request
        found = self._market(request)
        if found is None:
            return
        tick = tick_size(_root(request), anchor, len(request.legs))
        price = step_toward_natural(
            anchor, request.effect, found[1], tick, steps * self.policy.step_ticks
        )
        if price != request.limit_price:
            self._store(replace(order, request=request.with_price(price), updated=self._now()))

    def _day_over(self, order: Order) -> bool:
        if order.request.time_in_force is not TimeInForce.DAY:
            return False
        placed = self.ledger.placed_at.get(order.id)
        if placed is None:
            return False
        now = self._now().astimezone(NEW_YORK)
        return now.date() > placed.astimezone(NEW_YORK).date()

    def _settle_expired(self) -> None:
        now = self._now().astimezone(NEW_YORK)
        for symbol, held in list(self.ledger.holdings.items()):
            if not is_option_symbol(symbol):
                continue
            c = parse_occ(symbol)
            listed = self.book.entry(symbol)
            # the listing knows the true last day (old SPX symbols say Saturday)
            expiry = listed.contract.expiry if listed is not None else c.expiry
            if not settles(expiry, now):
                continue
            spot = self.ledger.spots.settlement_price(held.underlying, expiry)
            if spot is None:
                continue  # settle once the underlying's price is known
            self._settle(symbol, held.quantity, c.right, c.strike, spot, held.underlying)

    def _settle(
        self, symbol: str, qty: int, right: str, strike: Decimal, spot: Decimal, underlying: str
    ) -> None:
        value = intrinsic(right, strike, spot)
        mult = self.ledger.holdings[symbol].multiplier
        del self.ledger.holdings[symbol]
        if is_index(underlying):
            kind = "cash settlement"
            self.ledger.cash += qty * value * mult
        elif value >= Decimal("0.01"):
            kind = "exercise" if qty > 0 else "assignment"
            shares = qty * mult if right == "C" else -qty * mult
            self.ledger.book(underlying, shares, strike, 1, underlying)
        else:
            kind = "expired worthless"
        self.ledger.settlements.append(
            {
                "symbol": symbol,
                "quantity": str(qty),
                "kind": kind,
                "underlying_price": str(spot),
                "time": self._now().isoformat(),
            }
        )
        self._save()

    # -- plumbing ----------------------------------------------------------------------

    def _store(self, order: Order, fills: Sequence[Fill] = ()) -> None:
        self.ledger.orders[order.id] = order
        self._save()
        events = [OrderEvent(order, fill, self._now()) for fill in fills] or [
            OrderEvent(order, None, self._now())
        ]
        for queue in self._queues:
            for event in events:
                queue.put_nowait(event)

    def _save(self) -> None:
        if self._path is not None:
            self.ledger.save(self._path)

    def _now(self) -> datetime:
        """The market time; never earlier than a time the account already acted at, so a
        tick re-run after a crash does not fill, at its own earlier time, an order that had
        already been walked toward natural past it."""
        now = self.book.time or datetime.now(UTC)
        if self.ledger.clock is not None and self.ledger.clock > now:
            return self.ledger.clock
        self.ledger.clock = now
        return now

    def _fees(self, order: OrderRequest) -> Decimal:
        return sum(
            (
                self.fees.for_leg(
                    leg.ratio * order.quantity,
                    option=leg.is_option,
                    index=is_index(underlying_of(leg.symbol)),
                )
                for leg in order.legs
            ),
            Decimal(0),
        )

    def _mark(self, symbol: str) -> Decimal | None:
        """Mid of a two-sided quote; else the engine's model mark for a held contract that
        the snapshot lacks (never fillable: orders still need a quote)."""
        q = self.book.quote(symbol)
        if q is not None and q.is_two_sided:
            return q.mid
        return self.book.model_mark(symbol)

    def _value(self, symbol: str) -> Decimal:
        held = self.ledger.holdings[symbol]
        mark = self._mark(symbol)
        price = mark if mark is not None else held.average_price
        return held.quantity * price * held.multiplier

    def _requirement(self, held: dict[str, int]) -> Decimal | None:
        """Worst expiry loss of these holdings (None: unbounded); see brokers.paper.margin."""
        multipliers = {
            s: h.multiplier if (h := self.ledger.holdings.get(s)) else self.book.multiplier(s)
            for s in held
        }
        return requirement(held, multipliers)

    def _market(self, request: OrderRequest) -> tuple[dict[str, Quote], ComboMarket] | None:
        """The legs' quotes and the combo's mid and natural; None without a usable market."""
        found = {leg.symbol: self.book.quote(leg.symbol) for leg in request.legs}
        quotes = {symbol: q for symbol, q in found.items() if q is not None}
        if len(quotes) < len(found):
            return None
        multipliers = {leg.symbol: self.book.multiplier(leg.symbol) for leg in request.legs}
        market = combo_market(request.legs, quotes, multipliers)
        return None if market is None else (quotes, market)


def _root(request: OrderRequest) -> str:
    """The option class whose tick rules the order's price follows."""
    return next((parse_occ(leg.symbol).root for leg in request.legs if leg.is_option), "")
