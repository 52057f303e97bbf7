"""What the three HTTP adapters share: idempotent placing and polled order events.

Placing is the one call that must never be repeated blindly. A timeout or a 5xx after the
request left may mean the broker has the order, or will have it: a broker can process a
request after its answer was lost. So an ambiguous send is never resent; the order is looked
up by its client key now, and by the engine on every later sync for `lookup_window` seconds,
before it is declared unsent. Only a request that never left is sent again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime

from brokers.errors import (
    AmbiguousOrder,
    BrokerError,
    BrokerTimeout,
    BrokerUnavailable,
    OrderRejected,
)
from brokers.http import Health, HttpClient
from brokers.model import Order, OrderEvent, OrderRequest, OrderStatus

log = logging.getLogger("brokers")


class HttpBroker:
    """Base of the HTTP adapters: subclasses implement `_submit`, `order`, `find_order`."""

    name = "http"
    live = False
    poll_every = 2.0  # seconds between order-status polls for `events()`
    # how long an order whose send was ambiguous is looked up before it is declared unsent
    lookup_window = 300.0
    lookup_how = "by its key"

    def __init__(self, http: HttpClient) -> None:
        self.http = http
        self._watched: dict[str, Order] = {}

    @property
    def health(self) -> Health:
        """The HTTP client's counters (consecutive failures, recent 429s) for breakers."""
        return self.http.health

    async def _submit(self, order: OrderRequest) -> Order:
        raise NotImplementedError

    async def find_order(self, client_key: str) -> Order | None:
        raise NotImplementedError

    async def order(self, order_id: str) -> Order:
        raise NotImplementedError

    async def _find(self, order: OrderRequest) -> Order | None:
        """The order already at the broker for this request (by client key by default)."""
        return await self.find_order(order.client_key)

    async def place(self, order: OrderRequest) -> Order:
        """Submit once. A failure that may hide a processed request (a read timeout, a 5xx, a
        connection lost mid-request, an acknowledgement without an id) is never resent: the
        order is looked up, and when the broker does not show it AmbiguousOrder is raised so
        the engine keeps looking for it (`lookup_window`). Only a request that never left (no
        connection) is sent again, with backoff."""
        existing = await self._find(order)
        if existing is not None:
            log.info("%s: order %s already placed as %s", self.name, order.client_key, existing.id)
            return self._watch(existing)
        policy = self.http.retry
        for attempt in range(policy.attempts):
            try:
                return self._watch(await self._submit(order))
            except (BrokerTimeout, BrokerUnavailable) as error:
                if error.maybe_processed:
                    return self._watch(await self._after_ambiguous(order, error))
                if attempt + 1 == policy.attempts:
                    raise
                log.warning("%s; order %s was not sent, sending it again", error, order.client_key)
                await self.http.sleep(policy.backoff(attempt + 1, self.http.rng))
        raise AssertionError("unreachable")

    async def _after_ambiguous(self, order: OrderRequest, error: BrokerError) -> Order:
        try:
            found = await self._find(order)
        except BrokerError:
            found = None
        if found is not None:
            return found
        detail = str(error).removeprefix(f"{self.name}: ")
        raise AmbiguousOrder(
            f"{detail}; order {order.client_key} may still reach the broker, so it is not sent "
            f"again: it is looked up {self.lookup_how} for {self.lookup_window:.0f}s before it "
            "is declared unsent",
            broker=self.name,
        )

    def _watch(self, order: Order) -> Order:
        if order.status is OrderStatus.REJECTED:
            raise OrderRejected(order.reason or "rejected by the broker", broker=self.name)
        self._watched[order.id] = order
        return order

    async def events(self) -> AsyncIterator[OrderEvent]:
        """Status changes and new fills of the orders this adapter placed, by polling."""
        while True:
            for order_id, seen in list(self._watched.items()):
                try:
                    now = await self.order(order_id)
                except BrokerError as error:
                    log.warning("polling %s: %s", order_id, error)
                    continue
                if now.status == seen.status and now.filled_quantity == seen.filled_quantity:
                    continue
                self._watched[order_id] = now
                stamp = datetime.now(UTC)
                new_fills = now.fills[len(seen.fills) :]
                for fill in new_fills:
                    yield OrderEvent(now, fill, stamp)
                if not new_fills:
                    yield OrderEvent(now, None, stamp)
                if now.status.is_final:
                    del self._watched[order_id]
            await asyncio.sleep(self.poll_every)

    async def aclose(self) -> None:
        await self.http.aclose()
