"""The paper broker: the default, what tests and the demo trade through.

It fills against the QuoteBook the engine feeds it (see brokers.paper.fills), checks
sessions, ticks, markets, option level and buying power before accepting an order
(brokers.paper.checks), walks working orders toward natural and settles expirations (cash
for index options, shares for equity options; brokers.paper.execution), and keeps its whole
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
from brokers.futures import is_future_symbol
from brokers.model import (
    Account,
    Capabilities,
    ChainEntry,
    Fill,
    Order,
    OrderEvent,
    OrderRequest,
    OrderStatus,
    Position,
    Preview,
    Quote,
    TimeInForce,
)
from brokers.paper.checks import OrderChecks
from brokers.paper.execution import OrderExecution
from brokers.paper.fills import (
    FeeSchedule,
    FillPolicy,
)
from brokers.paper.ledger import Ledger
from brokers.paper.margin import margin_credit
from brokers.paper.market import QuoteBook
from brokers.paper.settings import AccountSettings

NEW_YORK = ZoneInfo("America/New_York")
DEFAULT_CASH = AccountSettings().cash


class PaperBroker:
    name = "paper"
    live = False
    lookup_window = 0.0  # answers synchronously: a send is never ambiguous
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
        self.checks = OrderChecks(self)
        self.execution = OrderExecution(self)
        # why `underlying` cannot trade at a time (None: open); without one, always open
        self.market_closed = market_closed or (lambda underlying, at: None)

    # -- reading ---------------------------------------------------------------------

    async def account(self) -> Account:
        need = self.checks.requirement(self.ledger.quantities())
        self._remember_marks()
        value = sum((self._value(s) for s in self.ledger.holdings), Decimal(0))
        held = self.ledger.quantities()
        credit = margin_credit(held, self.checks.multipliers(held), self.checks.market())
        available = self.ledger.cash + credit - need if need is not None else Decimal(0)
        warnings = (
            ()
            if need is not None
            else (
                "unbounded risk held (short stock, or a naked call in a cash account): "
                "opening orders are refused",
            )
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
        problem = self.checks.problem(order)
        need = self.checks.requirement_change(order)
        return Preview(
            accepted=problem is None,
            buying_power_effect=need,
            fees=self.checks.fees(order),
            errors=() if problem is None else (problem,),
            source=self.name,
        )

    async def place(self, order: OrderRequest) -> Order:
        existing = self.ledger.by_key(order.client_key)
        if existing is not None:
            return existing  # the same decision, retried: never a second order
        problem = self.checks.problem(order)
        if problem is not None:
            raise OrderRejected(problem, broker=self.name)
        placed = Order(
            id=self.ledger.new_order_id(),
            client_key=order.client_key,
            status=OrderStatus.WORKING,
            request=order,
            updated=self.now(),
        )
        self.ledger.placed_at[placed.id] = self.now()
        self.ledger.anchors[placed.id] = (self.now(), order.limit_price)
        self.store(placed)
        self.execution.work(placed.id)
        worked = self.ledger.orders[placed.id]
        if order.time_in_force is TimeInForce.IOC and not worked.status.is_final:
            self.store(
                replace(
                    worked,
                    status=OrderStatus.CANCELLED,
                    reason="immediate or cancel: the rest did not fill at once",
                    updated=self.now(),
                )
            )
        return self.ledger.orders[placed.id]

    async def replace(self, order_id: str, limit_price: Decimal) -> Order:
        current = await self.order(order_id)
        if current.status.is_final:
            raise InvalidRequest(
                f"order {order_id} is {current.status}; nothing to replace", broker=self.name
            )
        request = current.request.with_price(limit_price)
        problem = self.checks.tick_problem(request)
        if problem:
            raise OrderRejected(problem, broker=self.name)
        self.ledger.anchors[order_id] = (self.now(), limit_price)
        self.store(replace(current, request=request, updated=self.now()))
        self.execution.work(order_id)
        return self.ledger.orders[order_id]

    async def cancel(self, order_id: str) -> Order:
        current = await self.order(order_id)
        if current.status.is_final:
            return current
        self.store(
            replace(
                current,
                status=OrderStatus.CANCELLED,
                reason="cancelled by request",
                updated=self.now(),
            )
        )
        return self.ledger.orders[order_id]

    async def step(self) -> None:
        """Advance to the book's current time: settle expiries, expire day orders, reprice
        and fill working orders. The engine calls this after each market update."""
        for underlying, price in self.book.underlying_prices().items():
            self.ledger.spots.see(underlying, price, self.now())
        for symbol in self.ledger.holdings:  # a future settles at its own last price
            quote = self.book.quote(symbol) if is_future_symbol(symbol) else None
            if quote is not None and quote.is_two_sided and quote.mid is not None:
                self.ledger.spots.see(symbol, quote.mid, self.now())
        self.execution.settle_expired()
        for order in list(self.ledger.orders.values()):
            if order.status.is_final:
                continue
            if self.execution.day_over(order):
                self.store(
                    replace(
                        order,
                        status=OrderStatus.EXPIRED,
                        updated=self.now(),
                        reason="day order not filled by the close",
                    )
                )
                continue
            self.execution.reprice(order)
            self.execution.work(order.id)

    async def events(self) -> AsyncIterator[OrderEvent]:
        queue: asyncio.Queue[OrderEvent] = asyncio.Queue()
        self._queues.append(queue)
        try:
            while True:
                yield await queue.get()
        finally:
            self._queues.remove(queue)

    async def aclose(self) -> None:
        self.save()

    # -- plumbing ----------------------------------------------------------------------

    def store(self, order: Order, fills: Sequence[Fill] = ()) -> None:
        self.ledger.orders[order.id] = order
        self.save()
        events = [OrderEvent(order, fill, self.now()) for fill in fills] or [
            OrderEvent(order, None, self.now())
        ]
        for queue in self._queues:
            for event in events:
                queue.put_nowait(event)

    def save(self, durable: bool = True) -> None:
        if self._path is not None:
            self.ledger.save(self._path, durable)

    def now(self) -> datetime:
        """The market time; never earlier than a time the account already acted at, so a
        tick re-run after a crash does not fill, at its own earlier time, an order that had
        already been walked toward natural past it."""
        now = self.book.time or datetime.now(UTC)
        if self.ledger.clock is not None and self.ledger.clock > now:
            return self.ledger.clock
        self.ledger.clock = now
        return now

    def mark_of(self, symbol: str) -> Decimal | None:
        """The mark the account values `symbol` at (for margin requirements)."""
        return self._mark(symbol)

    def _mark(self, symbol: str) -> Decimal | None:
        """Mid of a two-sided quote; else the engine's model mark for a held contract that
        the snapshot lacks (never fillable: orders still need a quote); else, with no market
        fed at all (`rules broker check` on a data directory), the last mark it saw."""
        q = self.book.quote(symbol)
        if q is not None and q.is_two_sided:
            return q.mid
        model = self.book.model_mark(symbol)
        return model if model is not None else self.ledger.marks.get(symbol)

    def _remember_marks(self) -> None:
        """Keep the current marks of what is held, so the account read without a market
        (after a run) is still cash plus marks. Saved when they change (once a tick)."""
        if self.book.time is None:
            return  # no market fed: nothing newer than what is kept
        marks = {s: m for s in self.ledger.holdings if (m := self._mark(s)) is not None}
        if marks != self.ledger.marks:
            self.ledger.marks = marks
            self.save(durable=False)  # marks only value the account: no fsync on the tick

    def _value(self, symbol: str) -> Decimal:
        held = self.ledger.holdings[symbol]
        mark = self._mark(symbol)
        price = mark if mark is not None else held.average_price
        return held.quantity * price * held.multiplier
