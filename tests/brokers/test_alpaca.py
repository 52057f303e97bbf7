"""Alpaca specifics: the mleg sign convention, pagination, and the missing preview."""

from __future__ import annotations

from decimal import Decimal

import pytest

from brokers.alpaca import AlpacaBroker, order_body, parse_order
from brokers.model import OrderLeg, OrderRequest, PriceEffect
from brokers.registry import preview_with_paper
from tests.brokers.conftest import make_harness, spread
from tests.brokers.fakes import FakeAlpaca, fixture

pytestmark = pytest.mark.anyio


def broker(server: FakeAlpaca) -> AlpacaBroker:
    return AlpacaBroker(FakeAlpaca.KEY, FakeAlpaca.SECRET, transport=server.transport())


def test_mleg_credit_is_a_negative_limit_as_documented():
    documented = fixture("alpaca_mleg_order_request.json")
    body = order_body(spread(key=documented["client_order_id"], quantity=1))
    assert body == documented


def test_mleg_debit_is_positive_and_single_legs_are_always_positive():
    debit = OrderRequest(
        legs=(OrderLeg("SPY   240419P00500000", 1), OrderLeg("SPY   240419P00495000", -1)),
        quantity=1,
        limit_price=Decimal("3.95"),
        effect=PriceEffect.DEBIT,
        client_key="k",
    )
    assert order_body(debit)["limit_price"] == "3.95"
    single = OrderRequest(
        legs=(OrderLeg("SPY   240419P00500000", -1),),
        quantity=3,
        limit_price=Decimal("1.6"),
        effect=PriceEffect.CREDIT,
        client_key="k",
    )
    body = order_body(single)
    assert (body["limit_price"], body["side"], body["qty"]) == ("1.6", "sell", "3")
    assert body["symbol"] == "SPY240419P00500000"  # unpadded on the wire


def test_documented_response_with_empty_parent_strings_parses():
    order = parse_order(fixture("alpaca_mleg_order_response.json"))
    assert order.request.effect is PriceEffect.CREDIT
    assert order.request.limit_price == Decimal("1.05")
    assert [leg.symbol for leg in order.request.legs] == [
        "SPY   240419P00500000",
        "SPY   240419P00495000",
    ]
    assert order.status.value == "working" and order.filled_quantity == 0


async def test_chain_follows_both_paginations():
    server = FakeAlpaca()
    chain = await broker(server).option_chain("SPY")
    assert {e.symbol for e in chain} == {"SPY   240419P00500000", "SPY   240419P00495000"}
    assert all(e.quote is not None and e.quote.iv is not None for e in chain)
    assert server.count("GET", r"/v2/options/contracts") == 2
    assert server.count("GET", r"/snapshots/SPY") == 2


async def test_account_options_fields():
    account = await broker(FakeAlpaca()).account()
    assert account.option_buying_power == Decimal("122716.305")
    assert account.option_level == 3


async def test_stock_quotes():
    quotes = await broker(FakeAlpaca()).quotes(["SPY"])
    assert quotes["SPY"].bid == Decimal("510.4")


async def test_the_paper_account_previews_for_alpaca():
    paper = make_harness("paper").broker
    preview = await preview_with_paper(broker(FakeAlpaca()), paper, spread())
    assert preview.source == "paper" and preview.accepted


async def test_the_duplicate_guard_at_the_broker_is_never_reached():
    server = FakeAlpaca()
    b = broker(server)
    await b.place(spread())
    await b.place(spread())
    assert server.count("POST", r"/v2/orders$") == 1  # looked up first, never a 422


def test_ioc_options_orders_are_not_supported_and_say_what_to_use():
    from dataclasses import replace

    from brokers.errors import NotSupported
    from brokers.model import TimeInForce

    with pytest.raises(NotSupported, match="day or gtc only, not ioc"):
        order_body(replace(spread(), time_in_force=TimeInForce.IOC))
