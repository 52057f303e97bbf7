"""Issue 13: an adapter's base URL can be set, but live orders only go to the broker."""

from __future__ import annotations

import pytest

from brokers.endpoints import endpoint, timeout
from brokers.errors import LiveTradingNotEnabled
from brokers.registry import open_broker

REAL = {"api.tastyworks.com"}
TASTY = {
    "TASTYTRADE_CLIENT_SECRET": "tt-secret-123456",
    "TASTYTRADE_REFRESH_TOKEN": "tt-r-12345678",
}


def test_an_override_is_used_and_the_default_otherwise():
    env = {"RULES_X_URL": "http://127.0.0.1:8123"}
    assert endpoint("x", "RULES_X_URL", "https://a", live=False, real_hosts=REAL, env=env) == (
        "http://127.0.0.1:8123"
    )
    assert endpoint("x", "RULES_X_URL", "https://a", live=False, real_hosts=REAL, env={}) == (
        "https://a"
    )


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://api.tastyworks.com", True),
        ("http://127.0.0.1:9000", True),
        ("http://localhost:9000", True),
        ("https://api.tastyworks.com.evil.example", False),
        ("http://10.0.0.5:9000", False),
    ],
)
def test_live_only_reaches_the_brokers_host_or_a_loopback_fake(url, allowed):
    env = {**TASTY, "RULES_TASTYTRADE_URL": url, "RULES_LIVE_TRADING": "yes"}
    if allowed:
        open_broker("tastytrade", live=True, env=env)
    else:
        with pytest.raises(LiveTradingNotEnabled, match=r"live orders only go to api\.tastyworks"):
            open_broker("tastytrade", live=True, env=env)


def test_a_url_that_is_not_http_is_refused():
    with pytest.raises(LiveTradingNotEnabled, match="not an http"):
        endpoint("x", "V", "https://a", live=False, real_hosts=REAL, env={"V": "file:///etc"})


def test_schwab_places_without_live_only_at_a_loopback_fake():
    env = {
        "SCHWAB_APP_KEY": "app-key-123",
        "SCHWAB_APP_SECRET": "app-secret-456",
        "SCHWAB_REFRESH_TOKEN": "refresh-789",
    }
    assert open_broker("schwab", env=env).rehearsal is False
    local = open_broker("schwab", env={**env, "RULES_SCHWAB_URL": "http://127.0.0.1:1"})
    assert local.rehearsal is True


def test_the_http_timeout_comes_from_the_environment():
    assert timeout({"RULES_BROKER_TIMEOUT": "2.5"}) == 2.5
    assert timeout({"RULES_BROKER_TIMEOUT": "soon"}) == 10.0
    assert timeout({}) == 10.0
