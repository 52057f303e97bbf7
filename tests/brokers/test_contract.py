"""The contract every adapter keeps, the paper broker included: one suite, four brokers."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

from brokers.errors import NotSupported, OrderRejected
from brokers.model import OrderStatus, Preview
from brokers.occ import is_option_symbol, padded, parse_occ
from brokers.protocol import Broker
from tests.brokers.conftest import spread
from tests.brokers.fakes import SHORT_PUT

pytestmark = pytest.mark.anyio


async def test_implements_the_protocol(harness):
    assert isinstance(harness.broker, Broker)
    assert harness.broker.live is (harness.name == "schwab")  # the harness opts Schwab in


async def test_account_is_decimal_money(harness):
    account = await harness.broker.account()
    assert isinstance(account.net_liquidation, Decimal) and account.net_liquidation > 0
    assert isinstance(account.option_buying_power, Decimal)
    assert account.account_id


async def test_positions_are_signed_and_padded(harness):
    positions = {p.symbol: p for p in await harness.broker.positions()}
    short = positions[SHORT_PUT]
    assert short.quantity == -1  # short, whatever the wire's convention
    assert short.average_price == Decimal("1.6")
    for p in positions.values():
        if is_option_symbol(p.symbol):
            assert p.symbol == padded(p.symbol) and p.multiplier == 100


async def test_chain_is_normalised(harness):
    chain = await harness.broker.option_chain(harness.underlying)
    assert chain
    for entry in chain:
        parsed = parse_occ(entry.symbol)
        assert entry.symbol == padded(entry.symbol)
        assert (parsed.right, parsed.strike) == (entry.contract.right, entry.contract.strike)
        assert entry.contract.root == parsed.root
        q = entry.quote
        if q is not None:
            assert q.iv is None or 0 < q.iv < 5  # a fraction, never percent
            assert q.delta is None or -1 <= q.delta <= 1  # never -999


async def test_quotes_are_two_sided_decimals(harness):
    symbol = SHORT_PUT
    quotes = await harness.broker.quotes([symbol])
    q = quotes[symbol]
    assert isinstance(q.bid, Decimal) and isinstance(q.ask, Decimal)
    assert q.bid <= q.ask


async def test_place_is_idempotent_by_client_key(harness):
    first = await harness.broker.place(spread())
    assert first.status is OrderStatus.WORKING
    assert first.request.limit_price == Decimal("1.05")
    again = await harness.broker.place(spread())
    assert again.id == first.id
    assert harness.submissions() == 1
    found = await harness.broker.find_order("re-test-0001")
    assert found is not None and found.id == first.id
    assert await harness.broker.find_order("re-never-placed") is None


async def test_partial_then_full_fill(harness):
    placed = await harness.broker.place(spread())
    await harness.fill(placed.id, 1)
    partial = await harness.broker.order(placed.id)
    assert partial.status is OrderStatus.PARTIALLY_FILLED
    assert partial.filled_quantity == 1
    assert {f.symbol for f in partial.fills} == {leg.symbol for leg in placed.request.legs}
    assert sum(f.quantity for f in partial.fills if f.symbol == SHORT_PUT) == -1
    await harness.fill(placed.id, 1)
    done = await harness.broker.order(placed.id)
    assert done.status is OrderStatus.FILLED and done.filled_quantity == 2
    assert done.average_price is not None and done.average_price > 0  # a credit, as asked


async def test_replace_changes_the_working_price(harness):
    placed = await harness.broker.place(spread())
    replaced = await harness.broker.replace(placed.id, Decimal("1.04"))
    assert replaced.request.limit_price == Decimal("1.04")
    assert not replaced.status.is_final


async def test_cancel(harness):
    placed = await harness.broker.place(spread())
    cancelled = await harness.broker.cancel(placed.id)
    assert cancelled.status is OrderStatus.CANCELLED


async def test_rejection_is_a_typed_error_with_the_reason(harness):
    with pytest.raises(OrderRejected, match="buying power"):
        await harness.broker.place(spread(key="re-too-big", quantity=1000))


async def test_preview_or_says_it_has_none(harness):
    if not harness.broker.capabilities.preview:
        with pytest.raises(NotSupported, match="paper account"):
            await harness.broker.preview(spread())
        return
    preview = await harness.broker.preview(spread())
    assert isinstance(preview, Preview) and preview.accepted
    assert preview.fees is not None and preview.fees > 0


async def test_events_report_fills(harness):
    placed = await harness.broker.place(spread())
    events = harness.broker.events()
    waiter = asyncio.ensure_future(anext(events))
    await asyncio.sleep(0)
    await harness.fill(placed.id, 2)
    event = await asyncio.wait_for(waiter, 2)
    assert event.order.id == placed.id
    assert event.order.status in (OrderStatus.FILLED, OrderStatus.PARTIALLY_FILLED)
    await events.aclose()
