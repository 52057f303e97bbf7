"""One HTTP client for every adapter: typed errors, retries with backoff and jitter.

Retried: timeouts, dropped connections and 5xx (only for calls that are safe to repeat),
429 (always: the broker did not process it), honouring Retry-After. Never retried: 4xx
validation errors. A 401 triggers one token refresh and one retry. Placing an order is
not "safe to repeat": adapters call with `idempotent=False` and resolve an ambiguous
failure by looking the order up by its client key (see brokers.orders).
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from brokers.credentials import redact
from brokers.errors import (
    BrokerError,
    BrokerTimeout,
    BrokerUnavailable,
    InvalidRequest,
    MalformedResponse,
    NotFound,
    RateLimited,
    Unauthorized,
)

log = logging.getLogger("brokers.http")

Sleep = Callable[[float], Awaitable[None]]
HeaderSource = Callable[[], Awaitable[dict[str, str]]]


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 5  # total tries, the first included
    base_delay: float = 0.25  # seconds; doubled per attempt, full jitter
    max_delay: float = 8.0
    max_retry_after: float = 60.0  # a longer Retry-After is a RateLimited error now

    def backoff(self, attempt: int, rng: random.Random) -> float:
        return rng.uniform(0, min(self.max_delay, self.base_delay * 2**attempt))


RATE_WINDOW = 60.0  # seconds a 429 counts as recent


@dataclass
class Health:
    """Counters the engine's breakers read (consecutive errors, rate-limit storms)."""

    consecutive_failures: int = 0
    rate_limited: int = 0
    requests: int = 0
    last_error: str = ""
    recent_429: list[float] = field(default_factory=list)

    def record_429(self, now: float) -> None:
        self.rate_limited += 1
        self.recent_429 = [t for t in self.recent_429 if now - t < RATE_WINDOW] + [now]

    def recent_rate_limits(self, now: float | None = None) -> int:
        """429 answers in the last minute (what the `rate_limited` scalar reads)."""
        now = time.monotonic() if now is None else now
        return sum(1 for t in self.recent_429 if now - t < RATE_WINDOW)


class HttpClient:
    def __init__(
        self,
        broker: str,
        base_url: str,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = 10.0,
        retry: RetryPolicy | None = None,
        sleep: Sleep | None = None,
        auth_headers: HeaderSource | None = None,
        refresh_auth: Callable[[], Awaitable[None]] | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.broker = broker
        self.retry = retry or RetryPolicy()
        self.health = Health()
        self.sleep = asyncio.sleep if sleep is None else sleep
        self._auth_headers = auth_headers
        self._refresh_auth = refresh_auth
        self.rng = rng or random.Random()
        self._client = httpx.AsyncClient(
            base_url=base_url, transport=transport, timeout=timeout, follow_redirects=False
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    async def json(self, method: str, url: str, **kw: Any) -> Any:
        """Send and decode a JSON body (an empty body is None)."""
        response = await self.send(method, url, **kw)
        return self.decode(response)

    def decode(self, response: httpx.Response) -> Any:
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise MalformedResponse(
                f"{response.request.method} {response.request.url.path} returned "
                f"{response.status_code} with a body that is not JSON: "
                f"{_excerpt(response.text)!r}",
                broker=self.broker,
                status=response.status_code,
            ) from None

    async def send(
        self,
        method: str,
        url: str,
        *,
        idempotent: bool | None = None,
        authenticate: bool = True,
        **kw: Any,
    ) -> httpx.Response:
        """One logical request, retried per policy; returns a 2xx/3xx response or raises."""
        if idempotent is None:
            idempotent = method.upper() in ("GET", "HEAD", "PUT", "DELETE")
        refreshed = False
        attempt = 0
        while True:
            try:
                response = await self._send_once(method, url, authenticate, **kw)
                return self._check(response)
            except Unauthorized:
                if refreshed or self._refresh_auth is None or not authenticate:
                    raise
                refreshed = True  # one refresh per call: an expired token mid-session
                await self._refresh_auth()
                continue
            except BrokerError as error:
                self.health.consecutive_failures += 1
                self.health.last_error = str(error)
                attempt += 1
                delay = self._retry_delay(error, attempt, idempotent)
                if delay is None:
                    raise
                log.warning(
                    "%s; retry %d/%d in %.2fs", error, attempt, self.retry.attempts - 1, delay
                )
                await self.sleep(delay)

    def _retry_delay(self, error: BrokerError, attempt: int, idempotent: bool) -> float | None:
        if attempt >= self.retry.attempts or not error.retryable:
            return None
        if isinstance(error, RateLimited):
            if error.retry_after is not None:
                return (
                    error.retry_after if error.retry_after <= self.retry.max_retry_after else None
                )
            return self.retry.backoff(attempt, self.rng)
        return self.retry.backoff(attempt, self.rng) if idempotent else None

    async def _send_once(
        self, method: str, url: str, authenticate: bool, **kw: Any
    ) -> httpx.Response:
        headers = dict(kw.pop("headers", None) or {})
        if authenticate and self._auth_headers is not None:
            headers.update(await self._auth_headers())
        self.health.requests += 1
        try:
            return await self._client.request(method, url, headers=headers, **kw)
        except (httpx.ConnectTimeout, httpx.PoolTimeout):
            raise BrokerTimeout(
                f"{method} {_path(url)}: no connection in time (nothing was sent)",
                broker=self.broker,
                maybe_processed=False,
            ) from None
        except httpx.TimeoutException:
            raise BrokerTimeout(f"{method} {_path(url)} timed out", broker=self.broker) from None
        except httpx.ConnectError as error:
            raise BrokerUnavailable(
                f"{method} {_path(url)} failed: {type(error).__name__} "
                "(network down or broker unreachable; nothing was sent)",
                broker=self.broker,
                maybe_processed=False,
            ) from None
        except httpx.TransportError as error:
            raise BrokerUnavailable(
                f"{method} {_path(url)} failed: {type(error).__name__} "
                "(connection lost mid-request)",
                broker=self.broker,
            ) from None

    def _check(self, response: httpx.Response) -> httpx.Response:
        status = response.status_code
        if status < 400:
            self.health.consecutive_failures = 0
            return response
        what = f"{response.request.method} {response.request.url.path} -> {status}"
        detail = _excerpt(response.text)
        broker = self.broker
        if status == 401:
            message = f"{what}: credentials rejected or expired. {detail}"
            raise Unauthorized(message, broker=broker, status=status)
        if status == 429:
            self.health.record_429(time.monotonic())
            retry_after = _retry_after(response.headers.get("Retry-After"))
            raise RateLimited(
                f"{what}: rate limited", retry_after=retry_after, broker=broker, status=status
            )
        if status >= 500:
            raise BrokerUnavailable(f"{what}: broker error. {detail}", broker=broker, status=status)
        if status == 404:
            raise NotFound(f"{what}: not found. {detail}", broker=broker, status=status)
        raise InvalidRequest(f"{what}: {detail}", broker=broker, status=status)


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        parsed = email.utils.parsedate_to_datetime(value)
        return max(0.0, parsed.timestamp() - time.time()) if parsed else None


def _excerpt(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return redact(text[:limit] + ("..." if len(text) > limit else ""))


def _path(url: str) -> str:
    return httpx.URL(url).path or url
