"""OAuth access tokens from a long-lived refresh token (tastytrade, Schwab).

The access token is refreshed ahead of its expiry and when the broker answers 401 mid-
session. A failed refresh (timeout, 5xx) is retried by the HTTP client's policy; a refused
refresh (400/401) is an AuthError telling the trader to re-authorise.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from brokers.credentials import Secret, register_secret
from brokers.errors import AuthError, InvalidRequest, MalformedResponse

TokenRequest = Callable[[], Awaitable[dict]]
Clock = Callable[[], datetime]
MARGIN = timedelta(seconds=60)  # refresh this long before the token expires


def utc_now() -> datetime:
    return datetime.now(UTC)


class AccessToken:
    """Holds the current access token and renews it; concurrent callers share one refresh."""

    def __init__(self, broker: str, request: TokenRequest, clock: Clock = utc_now) -> None:
        self.broker = broker
        self._request = request
        self._clock = clock
        self._token: Secret | None = None
        self._expires: datetime | None = None
        self._lock = asyncio.Lock()
        self.refreshes = 0

    async def headers(self) -> dict[str, str]:
        if self._token is None or self._expires is None or self._clock() >= self._expires - MARGIN:
            await self.refresh()
        assert self._token is not None
        return {"Authorization": f"Bearer {self._token.reveal()}"}

    async def refresh(self) -> None:
        async with self._lock:
            try:
                body = await self._request()
            except InvalidRequest as error:
                raise AuthError(
                    f"the refresh token was refused ({error}). Re-authorise the application "
                    "and update the refresh token in the environment",
                    broker=self.broker,
                ) from None
            token = body.get("access_token") if isinstance(body, dict) else None
            if not token:
                raise MalformedResponse("token response has no access_token", broker=self.broker)
            register_secret(token)
            self._token = Secret(token)
            self._expires = self._clock() + timedelta(seconds=int(body.get("expires_in", 900)))
            self.refreshes += 1
            if body.get("refresh_token"):
                register_secret(body["refresh_token"])

    def invalidate(self) -> None:
        self._token = None
