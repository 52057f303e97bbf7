"""One harness per adapter: the broker, the fake behind it, and how to make it fill."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from brokers.alpaca import AlpacaBroker
from brokers.http import RetryPolicy
from brokers.model import ChainEntry, OptionContract, OrderLeg, OrderRequest, PriceEffect, Quote
from brokers.occ import parse_occ
from brokers.paper.broker import PaperBroker
from brokers.paper.market import QuoteBook
from brokers.schwab import SchwabBroker
from brokers.tastytrade import TastytradeBroker
from tests.brokers.fakes import (
    LONG_PUT,
    SHORT_PUT,
    FakeAlpaca,
    FakeDXLink,
    FakeSchwab,
    FakeServer,
    FakeTastytrade,
)

ADAPTERS = ["paper", "tastytrade", "alpaca", "schwab"]
HTTP_ADAPTERS = ["tastytrade", "alpaca", "schwab"]
MARKET_TIME = datetime(2024, 3, 12, 15, 0, tzinfo=UTC)
TASTY_SECRET, TASTY_REFRESH = "tt-client-s3cr3t-value", "tt-refresh-s3cr3t-value"
SCHWAB_REFRESH = "schwab-refresh-s3cr3t"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class Sleeps(list):
    """Records the delays a client asked for instead of sleeping."""

    async def __call__(self, seconds: float) -> None:
        self.append(seconds)


def spread(key: str = "re-test-0001", quantity: int = 2, price: str = "1.05") -> OrderRequest:
    """The SPY 500/495 bull put spread every fixture describes."""
    return OrderRequest(
        legs=(OrderLeg(SHORT_PUT, -1), OrderLeg(LONG_PUT, 1)),
        quantity=quantity,
        limit_price=Decimal(price),
        effect=PriceEffect.CREDIT,
        client_key=key,
        underlying="SPY",
    )


def spy_book(short=("1.58", "1.62"), long=("0.54", "0.57"), sizes=(None, None)) -> list:
    entries = []
    for symbol, (bid, ask), size in ((SHORT_PUT, short, sizes[0]), (LONG_PUT, long, sizes[1])):
        c = parse_occ(symbol)
        quote = Quote(symbol, bid=Decimal(bid), ask=Decimal(ask), bid_size=size, ask_size=size)
        entries.append(
            ChainEntry(
                symbol,
                "SPY",
                OptionContract("SPY", c.expiry, "P", c.strike),
                quote=quote,
                settlement="PM",
                style="american",
            )
        )
    return entries


@dataclass
class Harness:
    name: str
    broker: object
    server: FakeServer | None
    underlying: str
    fill: Callable[[str, int], object]
    sleeps: Sleeps

    def submissions(self) -> int:
        if self.server is None:
            return len(self.broker.ledger.orders)
        return self.server.submissions()


def make_harness(name: str) -> Harness:
    sleeps = Sleeps()
    retry = RetryPolicy(attempts=4, base_delay=0.01)
    if name == "paper":
        book = QuoteBook()
        book.update(spy_book(), {"SPY": Decimal("510.42")}, MARKET_TIME)
        broker = PaperBroker(book)
        broker.ledger.book(SHORT_PUT, -1, Decimal("1.6"), 100, "SPY")

        async def fill(order_id: str, units: int) -> None:
            book.update(
                spy_book(("1.60", "1.62"), ("0.50", "0.52"), (units, units)),
                {"SPY": Decimal("510.42")},
                MARKET_TIME,
            )
            await broker.step()

        return Harness(name, broker, None, "SPY", fill, sleeps)
    if name == "tastytrade":
        server = FakeTastytrade()
        dx = FakeDXLink()
        broker = TastytradeBroker(
            TASTY_SECRET,
            TASTY_REFRESH,
            transport=server.transport(),
            connect=dx.connect,
            retry=retry,
            sleep=sleeps,
        )
        broker.dxlink_server = dx
        underlying = "SPX"
    elif name == "alpaca":
        server = FakeAlpaca()
        broker = AlpacaBroker(
            FakeAlpaca.KEY,
            FakeAlpaca.SECRET,
            transport=server.transport(),
            retry=retry,
            sleep=sleeps,
        )
        underlying = "SPY"
    else:
        server = FakeSchwab()
        broker = SchwabBroker(
            FakeSchwab.APP_KEY,
            FakeSchwab.APP_SECRET,
            SCHWAB_REFRESH,
            refresh_issued=MARKET_TIME,
            live=True,
            clock=lambda: MARKET_TIME,
            transport=server.transport(),
            retry=retry,
            sleep=sleeps,
        )
        underlying = "SPY"
    broker.poll_every = 0.0

    async def fill(order_id: str, units: int) -> None:
        server.fill(order_id, units)

    return Harness(name, broker, server, underlying, fill, sleeps)


@pytest.fixture(params=ADAPTERS)
async def harness(request) -> AsyncIterator[Harness]:
    h = make_harness(request.param)
    yield h
    await h.broker.aclose()


@pytest.fixture(params=HTTP_ADAPTERS)
async def http_harness(request) -> AsyncIterator[Harness]:
    h = make_harness(request.param)
    yield h
    await h.broker.aclose()
