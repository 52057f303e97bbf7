"""DXLink, the websocket feed tastytrade serves quotes and greeks through.

Sequence (see tests/brokers/fixtures/tastytrade_dxlink_quote_greeks.json): SETUP, AUTH with
the api-quote-token, CHANNEL_REQUEST for a FEED channel, FEED_SETUP in COMPACT format,
FEED_SUBSCRIPTION per streamer symbol, then FEED_DATA arrays of values in field order.
"NaN"/"Infinity" strings mean missing. Liveness is checked on the receive side: when the
feed is silent for `silence_timeout`, the subscription is sent again; if it stays silent,
the connection is rebuilt from scratch.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any, Protocol, cast

from brokers.errors import AuthError, BrokerTimeout, BrokerUnavailable, MalformedResponse
from brokers.model import Quote
from brokers.wire import decimal_or_none, greeks, int_or_none, iv_fraction

log = logging.getLogger("brokers.dxlink")
NAME = "tastytrade dxlink"
CHANNEL = 1
QUOTE_FIELDS = ["eventSymbol", "eventTime", "bidPrice", "askPrice", "bidSize", "askSize"]
GREEKS_FIELDS = [
    "eventSymbol",
    "eventTime",
    "price",
    "volatility",
    "delta",
    "gamma",
    "theta",
    "rho",
    "vega",
]


class WebSocketLike(Protocol):
    async def send(self, message: str) -> None: ...

    async def recv(self) -> str: ...

    async def close(self) -> None: ...


Connect = Callable[[str], Awaitable[WebSocketLike]]


async def _websockets_connect(url: str) -> WebSocketLike:
    import websockets

    return cast(WebSocketLike, await websockets.connect(url, max_size=2**24))


class DXLinkFeed:
    def __init__(
        self,
        url: str,
        token: str,
        *,
        connect: Connect | None = None,
        silence_timeout: float = 10.0,
        keepalive_every: float = 30.0,
    ) -> None:
        self.url = url
        self._token = token
        self._connect = connect or _websockets_connect
        self.silence_timeout = silence_timeout
        self.keepalive_every = keepalive_every
        self._ws: WebSocketLike | None = None
        self._fields: dict[str, list[str]] = {"Quote": QUOTE_FIELDS, "Greeks": GREEKS_FIELDS}
        self._subscribed: set[str] = set()
        self._values: dict[str, dict[str, Any]] = {}
        self._last_sent = 0.0
        self.resubscribes = 0
        self.reconnects = 0

    async def snapshot(self, symbols: list[str], timeout: float = 5.0) -> dict[str, Quote]:
        """Latest quote (and greeks, when they arrive in time) for each streamer symbol."""
        await self._ensure_open()
        await self._subscribe([s for s in symbols if s not in self._subscribed])
        deadline = time.monotonic() + timeout
        silent_rounds = 0
        while not self._complete(symbols) and time.monotonic() < deadline:
            wait = min(self.silence_timeout, max(0.0, deadline - time.monotonic()))
            try:
                message = await asyncio.wait_for(self._recv(), wait)
            except TimeoutError:
                silent_rounds += 1
                await self._recover(silent_rounds, symbols)
                continue
            silent_rounds = 0
            self._handle(message)
            await self._keepalive()
        return {s: self._quote(s) for s in symbols if "bidPrice" in self._values.get(s, {})}

    async def close(self) -> None:
        if self._ws is not None:
            await self._ws.close()
            self._ws = None

    # -- connection ---------------------------------------------------------------------

    async def _ensure_open(self) -> None:
        if self._ws is not None:
            return
        try:
            self._ws = await self._connect(self.url)
        except OSError as error:
            raise BrokerUnavailable(f"cannot connect to DXLink: {error}", broker=NAME) from None
        self._subscribed.clear()
        await self._send(
            {
                "type": "SETUP",
                "channel": 0,
                "version": "0.1-rulesengine",
                "keepaliveTimeout": 60,
                "acceptKeepaliveTimeout": 60,
            }
        )
        await self._expect("AUTH_STATE", "the session setup")  # UNAUTHORIZED until AUTH
        await self._send({"type": "AUTH", "channel": 0, "token": self._token})
        state = await self._expect("AUTH_STATE", "authorisation")
        if state.get("state") != "AUTHORIZED":
            raise AuthError(
                "DXLink refused the quote token; it lasts 24 h, request a new one "
                "(GET /api-quote-tokens)",
                broker=NAME,
            )
        await self._send(
            {
                "type": "CHANNEL_REQUEST",
                "channel": CHANNEL,
                "service": "FEED",
                "parameters": {"contract": "AUTO"},
            }
        )
        await self._expect("CHANNEL_OPENED", "a feed channel")
        await self._send(
            {
                "type": "FEED_SETUP",
                "channel": CHANNEL,
                "acceptAggregationPeriod": 0.1,
                "acceptDataFormat": "COMPACT",
                "acceptEventFields": self._fields,
            }
        )

    async def _expect(self, kind: str, what: str) -> dict[str, Any]:
        """The next message of this type (others are handled as they come)."""
        deadline = time.monotonic() + self.silence_timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                message = await asyncio.wait_for(self._recv(), left)
            except TimeoutError:
                break
            if message.get("type") == "ERROR":
                raise BrokerUnavailable(f"DXLink error: {message.get('message')}", broker=NAME)
            if message.get("type") == kind:
                return message
            self._handle(message)
        raise BrokerTimeout(f"DXLink did not confirm {what}", broker=NAME)

    async def _subscribe(self, symbols: list[str]) -> None:
        if not symbols:
            return
        add = [{"symbol": s, "type": kind} for s in symbols for kind in ("Quote", "Greeks")]
        await self._send({"type": "FEED_SUBSCRIPTION", "channel": CHANNEL, "add": add})
        self._subscribed.update(symbols)

    async def _recover(self, silent_rounds: int, symbols: list[str]) -> None:
        """Silence: first resubscribe, then rebuild the connection."""
        if silent_rounds == 1:
            self.resubscribes += 1
            log.warning("DXLink silent for %.1fs; resubscribing", self.silence_timeout)
            self._subscribed.difference_update(symbols)
            await self._subscribe(symbols)
            return
        self.reconnects += 1
        log.warning("DXLink still silent; reconnecting")
        await self.close()
        await self._ensure_open()
        await self._subscribe(symbols)

    async def _keepalive(self) -> None:
        if time.monotonic() - self._last_sent > self.keepalive_every:
            await self._send({"type": "KEEPALIVE", "channel": 0})

    async def _send(self, message: dict[str, Any]) -> None:
        assert self._ws is not None
        self._last_sent = time.monotonic()
        await self._ws.send(json.dumps(message))

    async def _recv(self) -> dict[str, Any]:
        assert self._ws is not None
        raw = await self._ws.recv()
        try:
            message = json.loads(raw)
        except ValueError:
            raise MalformedResponse(f"DXLink sent non-JSON: {raw[:80]!r}", broker=NAME) from None
        if not isinstance(message, dict):
            raise MalformedResponse("DXLink sent a message that is not an object", broker=NAME)
        return message

    # -- data ---------------------------------------------------------------------------

    def _handle(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        if kind == "FEED_CONFIG" and message.get("eventFields"):
            self._fields.update(message["eventFields"])
        elif kind == "FEED_DATA":
            self._feed_data(message.get("data") or [])

    def _feed_data(self, data: list[Any]) -> None:
        # COMPACT: ["Quote", [v1, v2, ... (fields x events)], "Greeks", [...], ...]
        for event_type, values in zip(data[::2], data[1::2], strict=False):
            fields = self._fields.get(event_type)
            if not fields or not isinstance(values, list):
                continue
            width = len(fields)
            for start in range(0, len(values) - width + 1, width):
                record = dict(zip(fields, values[start : start + width], strict=True))
                symbol = record.pop("eventSymbol")
                self._values.setdefault(symbol, {}).update(record)

    def _complete(self, symbols: list[str]) -> bool:
        """Every symbol has a quote, and every option (".SYM...") its greeks too."""
        return all(self._needed(s) <= self._values.get(s, {}).keys() for s in symbols)

    @staticmethod
    def _needed(symbol: str) -> set[str]:
        return {"bidPrice", "volatility"} if symbol.startswith(".") else {"bidPrice"}

    def _quote(self, symbol: str) -> Quote:
        v = self._values[symbol]
        return Quote(
            symbol=symbol,
            bid=_price(v.get("bidPrice")),
            ask=_price(v.get("askPrice")),
            bid_size=int_or_none(v.get("bidSize")),
            ask_size=int_or_none(v.get("askSize")),
            iv=iv_fraction(v.get("volatility")),
            **greeks(v),
        )


def _price(value: Any) -> Decimal | None:
    number = decimal_or_none(value)
    return None if number is None or number < 0 else number
