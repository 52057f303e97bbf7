"""The order desk: the only part of the engine that talks to the broker about orders.

Every intent is committed to the journal before the broker hears of it, and every answer
right after, so a crash at any point is recovered (`reconcile`) without a second order: a
retry of the same decision carries the same idempotency key. Fills move positions through
their lifecycle in the book.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from brokers.errors import BrokerError, NotFound, NotSupported, OrderRejected
from brokers.model import Order, OrderRequest, OrderStatus
from brokers.protocol import Broker
from rulesengine.engine import orders
from rulesengine.engine.book import PositionBook
from rulesengine.engine.hedge_book import hedge_of, record_fills
from rulesengine.engine.journal import Journal, OrderRecord, stable_id
from rulesengine.engine.marks import MULTIPLIER
from rulesengine.engine.policy import OrderPolicy
from rulesengine.engine.positions import Position, Status
from rulesengine.engine.record import Recorder
from rulesengine.engine.ruleset import Compiled
from rulesengine.notify import events

LIVE_STATUSES = ("pending", "working", "partially_filled", "unknown")


class OrderDesk:
    def __init__(
        self,
        broker: Broker,
        journal: Journal,
        book: PositionBook,
        recorder: Recorder,
        compiled: Callable[[str], Compiled | None],
    ):
        self.broker = broker
        self.journal = journal
        self.book = book
        self.recorder = recorder
        self.compiled = compiled
        self.policy: Callable[[str], OrderPolicy] = lambda strategy: OrderPolicy()
        self.broker_errors = 0  # consecutive failures of any broker call

    def failed(self, now: datetime, what: str, error: BrokerError) -> None:
        self.broker_errors += 1
        self.recorder.alert(
            now, "error", f"broker {what} failed ({self.broker_errors} in a row): {error}"
        )

    def succeeded(self) -> None:
        self.broker_errors = 0

    # ------------------------------------------------------------ sending
    async def send(
        self, req: OrderRequest, purpose: str, strategy: str, position_id: str, now: datetime
    ) -> bool:
        """Commit the intent, then place. True when the broker has (or may have) the order."""
        existing = self.journal.order(req.client_key)
        if existing is not None and existing.status not in {"pending", "not_sent"}:
            return existing.status != "rejected"  # the broker has had this decision
        row = _order_record(req, purpose, strategy, position_id, now)
        self.journal.save_order(row)
        self.journal.commit()  # the intent is durable before the broker hears of it
        try:
            order = await self.broker.place(req)
        except (OrderRejected, NotSupported) as error:  # refused before it was sent
            self.journal.save_order(row.moved(status="rejected", reason=str(error)))
            self.journal.commit()
            return False
        except BrokerError as error:
            self.failed(now, "place", error)
            self.journal.save_order(row.moved(status="unknown", reason=str(error)))
            self.journal.commit()
            return True  # found by key at the next sync, never sent twice
        self.succeeded()
        await self.apply(self._row(req.client_key), order, now)
        self.journal.commit()
        return True

    def rejection(self, key: str) -> str:
        row = self.journal.order(key)
        return row.reason if row is not None and row.reason else "not sent"

    async def cancel(self, row: OrderRecord, now: datetime, because: str) -> None:
        if row.broker_id is None:
            return  # never acknowledged: nothing at the broker to cancel
        try:
            order = await self.broker.cancel(row.broker_id)
        except BrokerError as error:
            self.failed(now, "cancel", error)
            return
        compiled = self.compiled(row.strategy)
        self.recorder.decide(now, compiled, "cancel", row.key, "cancelled", because)
        await self.apply(row, order, now)

    def working(self, strategy: str) -> list[OrderRecord]:
        """The strategy's orders the broker has working (entries, exits, rolls)."""
        return [
            row
            for row in self.journal.orders(("working", "partially_filled"))
            if row.strategy == strategy and row.broker_id
        ]

    def live_orders(self, purpose: str) -> dict[str, list[OrderRecord]]:
        """Orders of one purpose (`stop`, `hedge`...) the broker may still fill, by position."""
        found: dict[str, list[OrderRecord]] = {}
        for row in self.journal.orders(LIVE_STATUSES):
            if row.purpose == purpose and row.position_id:
                found.setdefault(row.position_id, []).append(row)
        return found

    def working_entries(self, strategy: str) -> list[OrderRecord]:
        return [
            row
            for row in self.journal.orders(("working", "partially_filled"))
            if row.strategy == strategy and row.purpose == "entry" and row.broker_id
        ]

    # ------------------------------------------------------------ syncing
    async def sync(self, now: datetime) -> None:
        """Bring every live order up to date with the broker (fills, expiries, cancels)."""
        for row in self.journal.orders(LIVE_STATUSES):
            try:
                if row.broker_id:
                    order: Order | None = await self.broker.order(row.broker_id)
                else:
                    order = await self.broker.find_order(row.key)
            except NotFound:
                order = None
            except BrokerError as error:
                self.failed(now, "order status", error)
                continue
            if order is None:
                if not row.broker_id and self._still_looking(row, now):
                    continue
                self._never_sent(row, now)
                continue
            await self.apply(row, order, now)
        self.journal.commit()

    def _still_looking(self, row: OrderRecord, now: datetime) -> bool:
        """An order whose send was ambiguous may reach the broker late: it stays unknown and
        is looked up on every sync for the adapter's `lookup_window` (0 for the paper account,
        which answers synchronously) before it is declared unsent."""
        window = self.broker.lookup_window
        waited = (now - datetime.fromisoformat(row.created_at)).total_seconds()
        if waited < window:
            note = f"not at the broker yet; looked up for {waited:.0f}s of {window:.0f}s"
            self.journal.save_order(row.moved(status="unknown", reason=note))
            return True
        if window > 0:
            self.recorder.alert(
                now,
                "warning",
                f"order {row.key} ({row.strategy}, {row.purpose}) was sent without confirmation "
                f"and is still not at the broker after {waited:.0f}s: declared unsent. Check "
                "the broker's order page: if it is there, cancel it or let reconciliation "
                "adopt it",
            )
        return False

    def _never_sent(self, row: OrderRecord, now: datetime) -> None:
        self.journal.save_order(
            row.moved(
                status="not_sent",
                reason="the broker has no order with this key",
                updated_at=now.isoformat(),
            )
        )
        p = self.book.positions.get(row.position_id or "")
        if p is None:
            return
        if row.purpose == "entry" and p.status is Status.OPENING:
            p.unfilled()
        elif p.exit_key == row.key:
            p.exit_ended(0, 0.0)
            self._abandon_roll_child(row.key)
        self.book.save(p)

    async def apply(self, row: OrderRecord, order: Order, now: datetime) -> None:
        replaced = order.status is OrderStatus.REPLACED
        broker_id = order.replaced_by if replaced else order.id
        status = "working" if replaced else str(order.status)  # follow the replacement
        for n, fill in enumerate(order.fills):
            fill_id = fill.fill_id or stable_id(order.id, n, fill.symbol, fill.time.isoformat())
            self.journal.add_fill(
                fill_id, row.key, fill.symbol, fill.quantity, fill.price, fill.fees, fill.time
            )
        average = order.average_price
        if order.filled_quantity > row.filled:
            self.recorder.notify(
                now,
                events.fill(
                    row.strategy,
                    row.key,
                    row.purpose,
                    order.filled_quantity,
                    row.quantity,
                    str(average) if average is not None else "?",
                ),
            )
        self.journal.save_order(
            row.moved(
                broker_id=broker_id,
                status=status,
                filled=order.filled_quantity,
                average_price=str(average) if average is not None else None,
                reason=order.reason or row.reason,
                updated_at=now.isoformat(),
            )
        )
        if replaced:
            return
        if row.purpose in {"exit", "roll"}:
            self._exit_progress(row.key, order, now)
        if row.purpose in {"entry", "roll"}:
            self._entry_progress(row.key, order, now)
        if row.purpose == "entry" and order.status.is_final:
            self._short_of_min_fill(row, now)
        if row.purpose == "hedge":
            self._hedge_progress(row, order, now)
        if row.purpose == "stop" and order.filled_quantity > 0:
            self._stopped(row, order, now)

    def _entry_progress(self, key: str, order: Order, now: datetime) -> None:
        p = self.book.by_entry_key(key)
        if p is None or p.status not in {Status.OPENING, Status.OPEN}:
            return
        units = order.filled_quantity
        symbols = {leg.symbol for leg in p.legs}
        price = orders.net_credit(order.fills, symbols, units)
        if units > 0:  # a partial roll's child also holds legs passed over at their mid
            price += float(p.detail.get("transfer_in", 0.0))
        better = price - float(p.detail.get("planned_credit") or 0.0)  # vs the mid planned
        fees = sum(float(f.fees) for f in order.fills if f.symbol in symbols)
        p.filled(units, price, fees, better, order.status.is_final)
        if units > 0:
            p.detail["entry_fill"] = round(price, 4)
        self.book.save(p)

    def _short_of_min_fill(self, row: OrderRecord, now: datetime) -> None:
        """`order: min_fill`: an entry that ended with less filled than that share of what it
        asked for is unwound: its part is closed at the next tick, with the reason."""
        p = self.book.by_entry_key(row.key)
        least = self.policy(row.strategy).min_fill
        if p is None or least is None or p.status is not Status.OPEN or "unwind" in p.detail:
            return
        if p.quantity >= least * p.ordered:
            return
        why = f"min_fill {least:.0%}: {p.quantity} of {p.ordered} filled"
        p.detail["unwind"] = why
        self.book.save(p)
        self.recorder.decide(now, self.compiled(p.strategy), "entry", p.id, "unwinding", why)

    def _exit_progress(self, key: str, order: Order, now: datetime) -> None:
        p = self.book.by_exit_key(key)
        if p is None or p.status is not Status.CLOSING:
            return
        symbols = {leg.symbol for leg in p.legs}
        units = order.filled_quantity
        exit_credit = orders.net_credit(order.fills, symbols, units)
        if units > 0:  # a partial roll passes the legs it keeps to the child at their mid
            exit_credit += float(p.detail.get("transfer_out", 0.0))
        fees = sum(float(f.fees) for f in order.fills if f.symbol in symbols)
        if units >= p.quantity and units > 0:
            gross = (p.entry_price + exit_credit) * MULTIPLIER * p.quantity
            p.fees += fees
            p.detail["exit_fill"] = round(exit_credit, 4)
            p.detail["options_done"] = round(gross, 6)
            self.finish_close(p, order.updated or now, now)
        elif order.status.is_final:
            pending = p.detail.pop("partial_pending", None)  # a scale-out step's order
            if units > 0:  # part closed: keep the rest open, book what was closed
                p.fees += fees
                p.exit_ended(units, (p.entry_price + exit_credit) * MULTIPLIER * units)
                if pending is not None:  # done once something closed; unfilled, it may fire again
                    p.detail["partial_exits"] = [*p.detail.get("partial_exits", ()), pending]
            else:
                p.exit_ended(0, 0.0)
                self._abandon_roll_child(key)
        self.book.save(p)

    def finish_close(self, p: Position, at: datetime, now: datetime) -> None:
        """Book a position closed whose options are done (`options_done`: their gross P&L),
        unless hedge shares are still to be flattened: then when that fill arrives."""
        hedge = hedge_of(p)
        if not hedge.flat:
            return
        gross = float(p.detail["options_done"])
        realised = float(p.detail.get("realised_part", 0.0)) + gross - p.fees
        realised += hedge.cash - hedge.fees  # the hedges' trades, flat now
        p.close(at, round(realised, 2))
        self.recorder.decide(
            now,
            self.compiled(p.strategy),
            "closed",
            p.id,
            "closed",
            f"{p.exit_reason}; realised {realised:+,.2f}",
        )

    def _stopped(self, row: OrderRecord, order: Order, now: datetime) -> None:
        """A protective stop filled: the position exits by it (engine.stops)."""
        p = self.book.positions.get(row.position_id or "")
        if p is None:
            return
        if p.status is Status.OPEN:
            price = order.fills[-1].price if order.fills else order.average_price
            p.start_exit(row.key, f"protective stop filled at {price}")
            self.recorder.decide(now, self.compiled(p.strategy), "exit", p.id, "stopped",
                                 p.exit_reason or "")  # fmt: skip
        if p.exit_key == row.key:
            self._exit_progress(row.key, order, now)

    def _hedge_progress(self, row: OrderRecord, order: Order, now: datetime) -> None:
        p = self.book.positions.get(row.position_id or "")
        if p is None:
            return
        record_fills(p, row.key, order.fills)
        if p.status is Status.CLOSING and "options_done" in p.detail:
            self.finish_close(p, order.updated or now, now)
        self.book.save(p)

    def _abandon_roll_child(self, key: str) -> None:
        """A roll's closing side never filled: its new position was never opened either."""
        for child in self.book.positions.values():
            if child.entry_key == key and child.status is Status.OPENING:
                child.unfilled()
                self.book.save(child)

    def _row(self, key: str) -> OrderRecord:
        row = self.journal.order(key)
        assert row is not None, f"order {key} was committed before it was placed"
        return row


def _order_record(
    req: OrderRequest, purpose: str, strategy: str, position_id: str, now: datetime
) -> OrderRecord:
    return OrderRecord(
        key=req.client_key,
        strategy=strategy,
        position_id=position_id,
        purpose=purpose,
        status="pending",
        quantity=req.quantity,
        limit_price=str(req.limit_price),
        effect=str(req.effect),
        legs="; ".join(f"{leg.ratio:+d} {leg.symbol.strip()} {leg.intent}" for leg in req.legs),
        created_at=now.isoformat(),
        updated_at=now.isoformat(),
    )


def position_id(key: str) -> str:
    return "p-" + stable_id(key)[:8]
