"""Fault injection against every HTTP adapter: timeouts, 429 storms, 5xx, malformed JSON,
expired tokens. The rule under test: never a duplicate order, never a retried 4xx, always a
typed error with a message, never a credential in a message or a log line."""

from __future__ import annotations

import logging

import pytest

from brokers.errors import (
    AmbiguousOrder,
    AuthError,
    BrokerUnavailable,
    MalformedResponse,
    OrderRejected,
    RateLimited,
)
from tests.brokers.conftest import SCHWAB_REFRESH, TASTY_REFRESH, TASTY_SECRET, spread
from tests.brokers.fakes import FakeAlpaca, FakeSchwab

pytestmark = pytest.mark.anyio
ORDERS = r"/orders$"
ACCOUNT = r"/balances|/v2/account|/accounts/E6A3B1C9HASH$"


async def test_timeout_after_the_broker_took_the_order_never_duplicates(http_harness):
    server = http_harness.server
    server.fail("POST", ORDERS, "timeout_after")
    placed = await http_harness.broker.place(spread())
    assert list(server.orders) == [placed.id]  # the order the broker took, found again
    assert http_harness.submissions() == 1  # by key (or legs at Schwab), never sent twice


async def test_a_request_that_never_left_is_sent_again_once(http_harness):
    server = http_harness.server
    server.fail("POST", ORDERS, "connect")
    await http_harness.broker.place(spread())
    assert len(server.orders) == 1  # the refused connection never reached it
    assert server.count("POST", ORDERS) == 2


@pytest.mark.parametrize(
    ("kind", "extra"),
    [("timeout", {}), ("reset", {}), ("status", {"status": 503, "body": "unavailable"})],
)
async def test_an_ambiguous_send_is_never_resent(http_harness, kind, extra):
    """Issue 13 #4: the broker may still process it, so the order is looked up, not resent."""
    server = http_harness.server
    server.fail("POST", ORDERS, kind, **extra)
    says = r"not sent again: it is looked up (by its key|among the account's orders)"
    with pytest.raises(AmbiguousOrder, match=says):
        await http_harness.broker.place(spread())
    assert server.count("POST", ORDERS) == 1


async def test_late_processed_orders_are_found_later_and_never_doubled(http_harness):
    """Issue 13 #4: 40 intents whose first request times out and is processed late."""
    server, broker = http_harness.server, http_harness.broker
    for n in range(40):
        key = f"re-late-{n:04d}"
        server.fail("POST", ORDERS, "late")
        with pytest.raises(AmbiguousOrder):
            await broker.place(spread(key=key))
        found = None
        for _sync in range(5):  # the engine's next syncs
            found = found or await broker.find_order(key)
        assert found is not None
        again = await broker.place(spread(key=key))  # a restart re-sends the same intent
        assert again.id == found.id
    assert len(server.orders) == 40
    assert server.count("POST", ORDERS) == 40


async def test_repeated_connection_failures_end_in_a_typed_error(http_harness):
    http_harness.server.fail("POST", ORDERS, "connect", times=10)
    with pytest.raises(BrokerUnavailable, match="nothing was sent"):
        await http_harness.broker.place(spread())
    assert len(http_harness.server.orders) == 0


async def test_5xx_on_reads_is_retried_with_backoff(http_harness):
    http_harness.server.fail("GET", ACCOUNT, "status", times=2, status=500, body="oops")
    account = await http_harness.broker.account()
    assert account.net_liquidation > 0
    assert len(http_harness.sleeps) == 2
    assert all(0 <= s <= 8 for s in http_harness.sleeps)


async def test_429_honours_retry_after(http_harness):
    http_harness.server.fail(
        "GET", ACCOUNT, "status", times=3, status=429, headers={"Retry-After": "2"}
    )
    await http_harness.broker.account()
    assert http_harness.sleeps == [2.0, 2.0, 2.0]


async def test_a_429_storm_ends_in_rate_limited(http_harness):
    http_harness.server.fail(
        "GET", ACCOUNT, "status", times=50, status=429, headers={"Retry-After": "1"}
    )
    with pytest.raises(RateLimited, match="rate limited"):
        await http_harness.broker.account()
    assert http_harness.broker.http.health.rate_limited == 4  # every attempt counted


async def test_a_retry_after_longer_than_the_cap_fails_now(http_harness):
    http_harness.server.fail("GET", ACCOUNT, "status", status=429, headers={"Retry-After": "3600"})
    with pytest.raises(RateLimited) as caught:
        await http_harness.broker.account()
    assert caught.value.retry_after == 3600 and http_harness.sleeps == []


async def test_a_429_on_place_is_retried_without_lookup_ambiguity(http_harness):
    http_harness.server.fail("POST", ORDERS, "status", status=429, headers={"Retry-After": "0"})
    await http_harness.broker.place(spread())
    assert len(http_harness.server.orders) == 1


async def test_4xx_rejection_is_never_retried(http_harness):
    with pytest.raises(OrderRejected):
        await http_harness.broker.place(spread(quantity=1000))
    assert http_harness.submissions() == 1
    assert http_harness.sleeps == []


async def test_malformed_json_is_a_typed_error(http_harness):
    http_harness.server.fail("GET", ACCOUNT, "malformed")
    with pytest.raises(MalformedResponse, match="not JSON"):
        await http_harness.broker.account()


@pytest.mark.parametrize("http_harness", ["tastytrade", "schwab"], indirect=True)
async def test_expired_token_mid_session_is_refreshed_once(http_harness):
    server = http_harness.server
    await http_harness.broker.account()
    server.expire_tokens()
    account = await http_harness.broker.account()
    assert account.net_liquidation > 0
    assert server.issued == 2


@pytest.mark.parametrize("http_harness", ["tastytrade", "schwab"], indirect=True)
async def test_a_failed_refresh_is_retried(http_harness):
    http_harness.server.fail("POST", r"oauth/token", "status", status=502)
    await http_harness.broker.account()
    assert http_harness.server.issued == 1


@pytest.mark.parametrize("http_harness", ["tastytrade", "schwab"], indirect=True)
async def test_a_refused_refresh_says_to_reauthorise(http_harness):
    http_harness.server.fail(
        "POST", r"oauth/token", "status", status=400, body='{"error": "invalid_grant"}'
    )
    with pytest.raises(AuthError, match="Re-authorise"):
        await http_harness.broker.account()


@pytest.mark.parametrize("http_harness", ["alpaca"], indirect=True)
async def test_bad_keys_are_an_auth_error_not_retried(http_harness):
    http_harness.broker._secret = type(http_harness.broker._secret)("wrong-secret")
    with pytest.raises(AuthError, match="credentials rejected"):
        await http_harness.broker.account()
    assert http_harness.sleeps == []


async def test_credentials_never_appear_in_errors_or_logs(http_harness, caplog):
    caplog.set_level(logging.DEBUG)
    secrets = {
        "tastytrade": [TASTY_SECRET, TASTY_REFRESH, "access-1-s3cr3t"],
        "alpaca": [FakeAlpaca.SECRET],
        "schwab": [FakeSchwab.APP_SECRET, SCHWAB_REFRESH, "access-1-s3cr3t"],
    }[http_harness.name]
    echo = " ".join(f"token={s}" for s in secrets)  # a broker echoing credentials back
    http_harness.server.fail("GET", ACCOUNT, "status", times=10, status=500, body=echo)
    with pytest.raises(Exception) as caught:
        await http_harness.broker.account()
    text = str(caught.value) + repr(caught.value) + caplog.text
    assert "retry" in caplog.text  # the retries were logged...
    for secret in secrets:
        assert secret not in text  # ...without a single credential
