"""The one interface the engine talks to. Every adapter, the paper one included, implements
it and passes the same contract suite (tests/brokers/test_contract.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from decimal import Decimal
from typing import Protocol, runtime_checkable

from brokers.model import (
    Account,
    Capabilities,
    ChainEntry,
    Order,
    OrderEvent,
    OrderRequest,
    Position,
    Preview,
    Quote,
)


@runtime_checkable
class Broker(Protocol):
    name: str
    live: bool  # True only when real money can move
    capabilities: Capabilities
    # seconds an order whose send was ambiguous is looked up before it is declared unsent
    # (0 where sends are never ambiguous, as in the paper account)
    lookup_window: float

    async def account(self) -> Account: ...

    async def positions(self) -> list[Position]: ...

    async def option_chain(self, underlying: str) -> list[ChainEntry]:
        """Every listed option of the underlying, with quotes and greeks where provided."""
        ...

    async def quotes(self, symbols: Sequence[str]) -> dict[str, Quote]:
        """Latest quotes; a symbol the broker has no quote for is absent from the result."""
        ...

    async def preview(self, order: OrderRequest) -> Preview:
        """What the order would do; raises NotSupported where the broker has no preview."""
        ...

    async def place(self, order: OrderRequest) -> Order:
        """Place once: an order with the same client key is returned, never duplicated."""
        ...

    async def replace(self, order_id: str, limit_price: Decimal) -> Order:
        """A new limit for a working order; returns the order now working (maybe a new id)."""
        ...

    async def cancel(self, order_id: str) -> Order: ...

    async def order(self, order_id: str) -> Order: ...

    async def find_order(self, client_key: str) -> Order | None:
        """The order placed under this client key, if the broker has one."""
        ...

    def events(self) -> AsyncIterator[OrderEvent]:
        """Order status changes and fills, as they happen."""
        ...

    async def aclose(self) -> None: ...
