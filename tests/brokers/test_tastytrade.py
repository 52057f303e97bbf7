"""tastytrade specifics: the documented shapes, dry-run, market metrics and DXLink."""

from __future__ import annotations

from decimal import Decimal

import pytest

from brokers.dxlink import DXLinkFeed
from brokers.errors import AuthError, MalformedResponse
from brokers.tastytrade import TastytradeBroker, order_body, parse_order
from tests.brokers.conftest import TASTY_REFRESH, TASTY_SECRET, spread
from tests.brokers.fakes import FakeDXLink, FakeTastytrade, fixture

pytestmark = pytest.mark.anyio


def broker(server: FakeTastytrade, dx: FakeDXLink | None = None, **kw) -> TastytradeBroker:
    return TastytradeBroker(
        TASTY_SECRET,
        TASTY_REFRESH,
        transport=server.transport(),
        connect=(dx or FakeDXLink()).connect,
        **kw,
    )


def test_order_body_is_the_documented_request():
    documented = fixture("tastytrade_order_request.json")
    body = order_body(spread(key=documented["external-identifier"], quantity=1))
    assert body["legs"] == documented["legs"]
    for key in ("price", "price-effect", "order-type", "time-in-force", "external-identifier"):
        assert body[key] == documented[key]


def test_parse_documented_dry_run_order():
    order = parse_order(fixture("tastytrade_order_dry_run_response.json")["data"]["order"])
    assert order.request.limit_price == Decimal("1.05")
    assert order.request.effect.value == "credit"
    assert [leg.ratio for leg in order.request.legs] == [-1, 1]


async def test_positions_direction_and_stock():
    positions = {p.symbol: p for p in await broker(FakeTastytrade()).positions()}
    assert positions["AAPL"].quantity == 100 and positions["AAPL"].multiplier == 1
    assert positions["SPY   240419P00500000"].mark == Decimal("1.08")


async def test_nested_chain_has_both_roots_and_streamer_symbols():
    chain = await broker(FakeTastytrade()).option_chain("SPX")
    roots = {e.contract.root: e for e in chain}
    assert set(roots) == {"SPX", "SPXW"}
    assert roots["SPXW"].settlement == "PM" and roots["SPX"].settlement == "AM"
    assert roots["SPX"].style == "european"
    weekly = next(e for e in chain if e.symbol == "SPXW  240312P05100000")
    assert weekly.streamer_symbol == ".SPXW240312P5100"
    assert weekly.quote is None  # the chain is metadata; quotes come from DXLink


async def test_market_metrics_units():
    metrics = (await broker(FakeTastytrade()).market_metrics(["SPY"]))["SPY"]
    assert metrics.iv_rank == pytest.approx(0.216488153)
    assert metrics.iv_index == pytest.approx(0.132511)
    assert metrics.hv_30 == pytest.approx(0.1184)  # sent as percent "11.84"


async def test_dry_run_preview():
    preview = await broker(FakeTastytrade()).preview(spread())
    assert preview.accepted
    assert preview.buying_power_effect == Decimal("397.24")
    assert preview.fees == Decimal("2.24")
    assert preview.warnings == ("Your order will begin working during next valid session.",)


async def test_dxlink_quotes_and_greeks_over_the_documented_handshake():
    dx = FakeDXLink()
    quotes = await broker(FakeTastytrade(), dx).quotes(["SPXW  240312P05100000", "SPX"])
    q = quotes["SPXW  240312P05100000"]
    assert (q.bid, q.ask, q.bid_size) == (Decimal("3.4"), Decimal("3.6"), 120)
    assert q.iv == pytest.approx(0.1312) and q.delta == pytest.approx(-0.2731)
    assert quotes["SPX"].bid == Decimal("5117.94") and quotes["SPX"].bid_size is None  # "NaN"
    assert [m["type"] for m in dx.sent[:5]] == [
        "SETUP",
        "AUTH",
        "CHANNEL_REQUEST",
        "FEED_SETUP",
        "FEED_SUBSCRIPTION",
    ]
    assert dx.sent[1]["token"] == "dx-quote-token"


@pytest.mark.parametrize(
    ("fault", "symbol", "counter", "connections"),
    [
        ("silent_subscriptions", "SPY   240419P00500000", "resubscribes", 1),  # feed goes quiet
        ("dead_connections", "SPY   240419P00495000", "reconnects", 2),  # socket never speaks
    ],
)
async def test_a_silent_feed_is_resubscribed_then_rebuilt(fault, symbol, counter, connections):
    dx = FakeDXLink()
    setattr(dx, fault, 1)
    b = broker(FakeTastytrade(), dx, quote_silence_timeout=0.05)
    quotes = await b.quotes([symbol])
    assert quotes[symbol].bid is not None and quotes[symbol].iv is not None
    assert getattr(b._feed, counter) == 1 and dx.connections == connections


async def test_a_dry_run_refused_is_an_unaccepted_preview():
    server = FakeTastytrade()
    server.fail(
        "POST",
        r"/dry-run$",
        "status",
        status=422,
        body='{"error": {"message": "Insufficient buying power"}}',
    )
    preview = await broker(server).preview(spread())
    assert not preview.accepted and "Insufficient buying power" in preview.errors[0]


async def test_non_json_from_the_feed_is_a_typed_error():
    class Garbled(FakeDXLink):
        async def connect(self, url):
            socket = await super().connect(url)
            socket.inbox.put_nowait("<html>")
            return socket

    feed = DXLinkFeed("wss://x", "dx-quote-token", connect=Garbled().connect, silence_timeout=0.05)
    with pytest.raises(MalformedResponse, match="non-JSON"):
        await feed.snapshot([".SPY240419P500"], timeout=0.2)


async def test_a_refused_quote_token_is_an_auth_error():
    feed = DXLinkFeed("wss://x", "stale-token", connect=FakeDXLink().connect, silence_timeout=0.05)
    with pytest.raises(AuthError):
        await feed.snapshot([".SPY240419P500"], timeout=0.2)


def test_the_documented_compact_feed_data_parses():
    messages = fixture("tastytrade_dxlink_quote_greeks.json")
    feed = DXLinkFeed("wss://x", "t")
    for m in messages:
        if m.get("type") == "FEED_SETUP":
            feed._fields.update(m["acceptEventFields"])
    for m in messages:
        feed._handle(m)
    q = feed._quote(".SPXW240312P5100")
    assert (q.bid, q.ask, q.ask_size) == (Decimal("3.4"), Decimal("3.6"), 95)
    assert q.iv == pytest.approx(0.1312) and q.vega == pytest.approx(0.9173)
    assert feed._quote("SPX").bid_size is None


def test_time_in_force_maps_both_ways_ioc_included():
    from dataclasses import replace

    from brokers.model import TimeInForce

    for tif, text in ((TimeInForce.DAY, "Day"), (TimeInForce.GTC, "GTC"), (TimeInForce.IOC, "IOC")):
        body = order_body(replace(spread(), time_in_force=tif))
        assert body["time-in-force"] == text
        parsed = parse_order({**body, "id": 1, "status": "Live", "size": 2})
        assert parsed.request.time_in_force is tif


def test_an_order_of_shares_is_priced_per_share():
    from brokers.model import Intent, OrderLeg, OrderRequest, PriceEffect

    hedge = OrderRequest(  # 23 shares at 94.53: per-100-units 0.9453 a unit
        (OrderLeg("XYZ", 1, Intent.OPEN),), 23, Decimal("0.9453"), PriceEffect.DEBIT, "re-h-1"
    )
    body = order_body(hedge)
    assert body["price"] == "94.53" and body["legs"][0]["quantity"] == 23
    assert body["legs"][0]["instrument-type"] == "Equity"
