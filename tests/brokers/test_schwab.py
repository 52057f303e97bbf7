"""Schwab specifics: windows for big chains, Location ids, preview rejects, the 7-day token,
and finding an order whose id was lost in a crash."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import httpx
import pytest

from brokers.errors import AmbiguousOrder, AuthError, LiveTradingNotEnabled
from brokers.schwab import SchwabBroker, order_body
from tests.brokers.conftest import MARKET_TIME, SCHWAB_REFRESH, spread
from tests.brokers.fakes import FakeSchwab, fixture

pytestmark = pytest.mark.anyio


def broker(server: FakeSchwab, *, issued=MARKET_TIME, live=True, **kw) -> SchwabBroker:
    return SchwabBroker(
        FakeSchwab.APP_KEY,
        FakeSchwab.APP_SECRET,
        SCHWAB_REFRESH,
        refresh_issued=issued,
        live=live,
        clock=lambda: MARKET_TIME,
        transport=server.transport(),
        **kw,
    )


def test_order_body_is_the_documented_vertical():
    documented = fixture("schwab_vertical_order.json")
    body = order_body(spread(quantity=1))
    legs = sorted(body.pop("orderLegCollection"), key=lambda leg: leg["instruction"])
    assert legs == documented.pop("orderLegCollection")
    assert body == documented


async def test_place_reads_the_order_id_from_location():
    server = FakeSchwab()
    placed = await broker(server).place(spread())
    assert placed.id == next(iter(server.orders))
    assert placed.client_key == "re-test-0001"


def without_location(server: FakeSchwab, then_list_fails: bool = False) -> None:
    accept_silently = server.place

    def no_location(request, match):
        accept_silently(request, match)
        if then_list_fails:  # and the order list is down while the adapter looks
            server.fail("GET", r"/orders$", "status", times=10, status=503)
        return httpx.Response(201)

    server.routes = [
        (m, p, no_location if h == accept_silently else h) for m, p, h in server.routes
    ]


async def test_an_accepted_order_without_a_location_is_found_among_the_orders():
    """Issue 13 #5: the 2xx without `Location` used to leave a working order orphaned."""
    server = FakeSchwab()
    without_location(server)
    placed = await broker(server).place(spread())
    assert list(server.orders) == [placed.id] and placed.client_key == "re-test-0001"


async def test_an_orphan_is_found_by_its_kept_intent_after_a_restart(tmp_path):
    server = FakeSchwab()
    without_location(server, then_list_fails=True)
    keys = tmp_path / "keys.json"
    with pytest.raises(AmbiguousOrder, match="looked up among the account's orders by legs"):
        await broker(server, key_store=keys).place(spread())
    assert server.submissions() == 1
    server.faults.clear()
    restarted = broker(server, key_store=keys)
    found = await restarted.find_order("re-test-0001")  # the engine's next sync
    assert found is not None and found.id == next(iter(server.orders))
    again = await restarted.place(spread())  # the same intent again: found, not resent
    assert again.id == found.id and server.submissions() == 1


async def test_without_live_an_order_is_refused_before_any_request():
    server = FakeSchwab()
    with pytest.raises(LiveTradingNotEnabled, match="no sandbox"):
        await broker(server, live=False).place(spread())
    assert server.submissions() == 0


async def test_preview_200_with_rejects_is_a_rejection():
    server = FakeSchwab()
    server.reject_previews = True
    preview = await broker(server).preview(spread())
    assert not preview.accepted
    assert preview.errors == ("Insufficient buying power.",)
    assert preview.fees == Decimal("1.34")
    assert preview.warnings == ("Prices can change quickly.",)


async def test_big_chains_are_fetched_in_windows_that_split_when_truncated():
    server = FakeSchwab()
    server.truncate_longer_than = 20
    chain = await broker(server).option_chain("SPY")
    assert sorted(e.symbol for e in chain) == ["SPY   240419P00495000", "SPY   240419P00500000"]
    assert all(0.1 < e.quote.iv < 0.2 for e in chain)
    served = [(a, b) for a, b in server.chain_requests if (b - a).days <= 20]
    assert served  # the 60-day windows were split until Schwab stopped truncating
    covered = sum((b - a).days + 1 for a, b in served)
    assert covered == (max(b for _, b in served) - min(a for a, _ in served)).days + 1


async def test_index_symbols_are_dollar_prefixed():
    server = FakeSchwab()
    await broker(server).quotes(["SPX"])
    assert server.last_request.url.params["symbols"] == "$SPX"


async def test_sentinel_greeks_become_none():
    quotes = await broker(FakeSchwab()).quotes(["SPY   240419P00500000"])
    q = quotes["SPY   240419P00500000"]
    assert q.delta is None  # -999 on the wire
    assert q.iv == pytest.approx(0.15231)  # percent on the wire


async def test_long_and_short_quantities_become_signed():
    positions = {p.symbol: p.quantity for p in await broker(FakeSchwab()).positions()}
    assert positions == {"SPY   240419P00500000": -1, "SPY   240419P00495000": 1}


async def test_refresh_token_expiry_is_warned_days_ahead():
    quiet = await broker(FakeSchwab(), issued=MARKET_TIME - timedelta(days=2)).account()
    assert quiet.warnings == ()
    soon = await broker(FakeSchwab(), issued=MARKET_TIME - timedelta(days=6)).account()
    assert "expires in 24 h" in soon.warnings[0]
    unknown = await broker(FakeSchwab(), issued=None).account()
    assert "SCHWAB_REFRESH_TOKEN_ISSUED" in unknown.warnings[0]


async def test_an_expired_refresh_token_says_to_log_in_again():
    with pytest.raises(AuthError, match="log in again"):
        await broker(FakeSchwab(), issued=MARKET_TIME - timedelta(days=8)).account()


async def test_a_crash_that_lost_the_order_id_still_never_duplicates(tmp_path):
    server = FakeSchwab()
    server.fail("POST", r"/orders$", "timeout_after")  # the id never reached us...
    first = broker(server, key_store=tmp_path / "keys.json")
    placed = await first.place(spread())  # ...so it is found by its legs and price
    assert server.submissions() == 1
    restarted = broker(server, key_store=tmp_path / "keys.json")
    again = await restarted.place(spread())
    assert again.id == placed.id and server.submissions() == 1


async def test_a_restart_with_an_empty_key_store_matches_by_fingerprint():
    server = FakeSchwab()
    placed = await broker(server).place(spread())
    again = await broker(server).place(spread())  # new process, no key store
    assert again.id == placed.id and server.submissions() == 1


def test_ioc_is_the_documented_immediate_or_cancel_duration():
    from dataclasses import replace

    from brokers.model import TimeInForce

    body = order_body(replace(spread(), time_in_force=TimeInForce.IOC))
    assert body["duration"] == "IMMEDIATE_OR_CANCEL"
