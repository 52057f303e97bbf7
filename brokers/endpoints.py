"""Where an adapter connects: its documented hosts, or one set in the environment.

`RULES_<BROKER>_URL` (and `RULES_ALPACA_DATA_URL`) point an adapter at another server: a
recording proxy, a local fake for rehearsals and fault-injection tests. With `--live` the URL
must be the broker's own host, or a loopback address (127.0.0.1, ::1, localhost: a fake on this
machine cannot reach a market); anything else is refused, so a typo or a hostile environment
can never send live orders somewhere unexpected. (Schwab, which has no sandbox, accepts
orders without `--live` only at a loopback URL.) `RULES_BROKER_TIMEOUT` sets the seconds an
HTTP call may take (10 by default).
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import httpx

from brokers.errors import LiveTradingNotEnabled

LOOPBACK = {"127.0.0.1", "::1", "localhost"}
TIMEOUT_ENV = "RULES_BROKER_TIMEOUT"
DEFAULT_TIMEOUT = 10.0


def endpoint(
    broker: str,
    variable: str,
    default: str,
    *,
    live: bool,
    real_hosts: set[str],
    env: Mapping[str, str] | None = None,
) -> str:
    """`default`, or the URL in `variable` when set (checked against `live`)."""
    environ = os.environ if env is None else env
    url = environ.get(variable, "").strip()
    if not url:
        return default
    parsed = httpx.URL(url)
    if parsed.scheme not in {"http", "https"} or not parsed.host:
        raise LiveTradingNotEnabled(f"{variable}={url!r} is not an http(s) URL", broker=broker)
    if live and parsed.host not in real_hosts | LOOPBACK:
        raise LiveTradingNotEnabled(
            f"{variable} points at {parsed.host}; live orders only go to "
            f"{', '.join(sorted(real_hosts))} (or a loopback fake): unset it or drop --live",
            broker=broker,
        )
    return url


def is_loopback(url: str) -> bool:
    """A server on this machine (a fake or a recorder): it cannot reach a market."""
    return httpx.URL(url).host in LOOPBACK


def timeout(env: Mapping[str, str] | None = None) -> float:
    environ = os.environ if env is None else env
    text = environ.get(TIMEOUT_ENV, "").strip()
    try:
        value = float(text) if text else DEFAULT_TIMEOUT
    except ValueError:
        value = DEFAULT_TIMEOUT
    return value if 0 < value <= 300 else DEFAULT_TIMEOUT
