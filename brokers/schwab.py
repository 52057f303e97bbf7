"""Charles Schwab: OAuth with the 7-day refresh token tracked, accounts by hash, positions,
option chains fetched in date windows, quotes, orders (NET_CREDIT / NET_DEBIT), previewOrder,
cancel/replace, status.

Wire traps handled here: positions have separate long and short quantities; chain `volatility`
is in percent and greeks may be -999; big chains come back truncated (`isChainTruncated`, or a
502), so they are fetched in date windows that split until each fits; a placed order answers
201 with an empty body and its id in the `Location` header; a previewOrder 200 with `rejects`
is a rejection; index underlyings are spelled `$SPX`. Schwab has no client order id: keys
are mapped to order ids as soon as the id is known; before the POST the order's body and time
are kept, so a key whose id was lost (a timeout, a 2xx without `Location`, a crash between the
POST and its answer) is found by matching legs, quantity, type and price among the account's
orders entered since it was sent, on every later lookup.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

from brokers.base import HttpBroker
from brokers.credentials import EnvVar, Secret, read_env
from brokers.endpoints import endpoint, is_loopback, timeout
from brokers.errors import (
    AuthError,
    BrokerUnavailable,
    InvalidRequest,
    LiveTradingNotEnabled,
    MalformedResponse,
    OrderRejected,
)
from brokers.http import HttpClient, RetryPolicy, Sleep
from brokers.model import (
    Account,
    Capabilities,
    ChainEntry,
    Order,
    OrderRequest,
    Position,
    Preview,
    Quote,
)
from brokers.oauth import AccessToken, Clock, utc_now
from brokers.occ import is_option_symbol, padded
from brokers.schwab_keys import OrderKeys
from brokers.schwab_wire import (
    NAME,
    QUOTE_KEYS,
    id_from_location,
    order_body,
    parse_chain,
    parse_order,
    position_from,
    preview_from,
    projected_buying_power,
    quote_from,
    wire_symbol,
)
from brokers.wire import (
    decimal_or_none,
    require,
    timestamp,
)

BASE_URL = "https://api.schwabapi.com"
HOSTS = {"api.schwabapi.com"}
REFRESH_LIFETIME = timedelta(days=7)
WARN_BEFORE = timedelta(days=2)
CHAIN_WINDOW = timedelta(days=60)
CHAIN_HORIZON = timedelta(days=800)
ENV = [
    EnvVar("SCHWAB_APP_KEY", "the app's key (client id) from developer.schwab.com"),
    EnvVar("SCHWAB_APP_SECRET", "the app's secret"),
    EnvVar("SCHWAB_REFRESH_TOKEN", "refresh token from the OAuth login (valid 7 days)"),
    EnvVar(
        "SCHWAB_REFRESH_TOKEN_ISSUED",
        "when the refresh token was issued, ISO time (so its 7-day expiry can be tracked)",
        required=False,
    ),
    EnvVar("SCHWAB_ACCOUNT", "account number (default: the first account)", required=False),
]


class SchwabBroker(HttpBroker):
    name = NAME
    lookup_how = "among the account's orders by legs, quantity and price"
    capabilities = Capabilities(
        preview=True,
        replace=True,
        streaming_quotes=False,
        client_order_ids=False,
        sandbox=False,
        notes=(
            "no sandbox: without --live only reading and previews work",
            "refresh tokens last 7 days: re-authorise weekly",
        ),
    )

    def __init__(
        self,
        app_key: str,
        app_secret: str,
        refresh_token: str,
        *,
        refresh_issued: datetime | None = None,
        account: str | None = None,
        live: bool = False,
        key_store: Path | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        retry: RetryPolicy | None = None,
        sleep: Sleep | None = None,
        clock: Clock = utc_now,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.live = live
        self._app = (Secret(app_key), Secret(app_secret))
        self._refresh = Secret(refresh_token)
        self.refresh_issued = refresh_issued
        self._clock = clock
        self._token = AccessToken(NAME, self._request_token, clock)
        url = endpoint(NAME, "RULES_SCHWAB_URL", BASE_URL, live=live, real_hosts=HOSTS, env=env)
        # a loopback fake cannot reach a market: orders there need no --live
        self.rehearsal = is_loopback(url)
        super().__init__(
            HttpClient(
                NAME,
                url,
                timeout=timeout(env),
                transport=transport,
                retry=retry,
                auth_headers=self._token.headers,
                refresh_auth=self._token.refresh,
                sleep=sleep,
            )
        )
        self._account_number = account
        self._hash: str | None = None
        self._keys = OrderKeys(key_store)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **kw: Any) -> SchwabBroker:
        v = read_env(NAME, ENV, env)
        issued = v["SCHWAB_REFRESH_TOKEN_ISSUED"]
        account = v["SCHWAB_ACCOUNT"]
        return cls(
            v.required("SCHWAB_APP_KEY").reveal(),
            v.required("SCHWAB_APP_SECRET").reveal(),
            v.required("SCHWAB_REFRESH_TOKEN").reveal(),
            refresh_issued=timestamp(issued.reveal()) if issued else None,
            account=account.reveal() if account else None,
            env=env,
            **kw,
        )

    # -- auth --------------------------------------------------------------------------

    @property
    def refresh_expires(self) -> datetime | None:
        return None if self.refresh_issued is None else self.refresh_issued + REFRESH_LIFETIME

    def token_warnings(self) -> tuple[str, ...]:
        """Days-ahead warnings about the refresh token (a human must log in weekly)."""
        expires = self.refresh_expires
        if expires is None:
            return (
                "the refresh token's age is unknown: set SCHWAB_REFRESH_TOKEN_ISSUED to "
                "be warned before it expires (refresh tokens last 7 days)",
            )
        left = expires - self._clock()
        if left <= WARN_BEFORE:
            hours = max(0, int(left.total_seconds() // 3600))
            return (
                f"the refresh token expires in {hours} h ({expires:%Y-%m-%d %H:%M} UTC); "
                "log in again to issue a new one",
            )
        return ()

    async def _request_token(self) -> dict:
        expires = self.refresh_expires
        if expires is not None and self._clock() >= expires:
            raise AuthError(
                f"the refresh token expired at {expires:%Y-%m-%d %H:%M} UTC "
                "(they last 7 days); log in again and update SCHWAB_REFRESH_TOKEN",
                broker=NAME,
            )
        basic = base64.b64encode(
            f"{self._app[0].reveal()}:{self._app[1].reveal()}".encode()
        ).decode()
        return await self.http.json(
            "POST",
            "/v1/oauth/token",
            idempotent=True,
            authenticate=False,
            headers={"Authorization": f"Basic {basic}"},
            data={"grant_type": "refresh_token", "refresh_token": self._refresh.reveal()},
        )

    async def _account_hash(self) -> str:
        if self._hash is None:
            rows = await self.http.json("GET", "/trader/v1/accounts/accountNumbers")
            if not rows:
                raise MalformedResponse("the login has no accounts", broker=NAME)
            chosen = next(
                (r for r in rows if r.get("accountNumber") == self._account_number), rows[0]
            )
            self._account_number = chosen["accountNumber"]
            self._hash = require(chosen, "hashValue", broker=NAME)
        return self._hash

    # -- reading -----------------------------------------------------------------------

    async def _securities(self) -> dict[str, Any]:
        h = await self._account_hash()
        body = await self.http.json(
            "GET", f"/trader/v1/accounts/{h}", params={"fields": "positions"}
        )
        return require(body, "securitiesAccount", broker=NAME)

    async def account(self) -> Account:
        data = await self._securities()
        bal = require(data, "currentBalances", broker=NAME)
        option_bp = decimal_or_none(bal.get("optionBuyingPower")) or decimal_or_none(
            bal.get("availableFunds")
        )
        return Account(
            account_id=str(data.get("accountNumber", "")),
            net_liquidation=decimal_or_none(bal.get("liquidationValue")) or Decimal(0),
            buying_power=decimal_or_none(bal.get("buyingPower")) or Decimal(0),
            option_buying_power=option_bp or Decimal(0),
            cash=decimal_or_none(bal.get("cashBalance")),
            warnings=self.token_warnings(),
        )

    async def positions(self) -> list[Position]:
        data = await self._securities()
        return [position_from(p) for p in data.get("positions") or []]

    async def option_chain(self, underlying: str) -> list[ChainEntry]:
        today = self._clock().date()
        entries: list[ChainEntry] = []
        start = today
        while start <= today + CHAIN_HORIZON:
            end = start + CHAIN_WINDOW - timedelta(days=1)
            entries += await self._chain_window(underlying, start, end)
            start = end + timedelta(days=1)
        return entries

    async def _chain_window(self, underlying: str, start: date, end: date) -> list[ChainEntry]:
        """One date window; split in halves while Schwab truncates it."""
        params = {
            "symbol": wire_symbol(underlying),
            "fromDate": start.isoformat(),
            "toDate": end.isoformat(),
            "includeUnderlyingQuote": "true",
        }
        try:
            body = await self.http.json("GET", "/marketdata/v1/chains", params=params)
            truncated = bool(body.get("isChainTruncated"))
        except BrokerUnavailable as error:  # 502 TooBigBody: the window is too large
            if error.status != 502 or start == end:
                raise
            truncated = True
        if truncated and start < end:
            middle = start + (end - start) // 2
            return await self._chain_window(underlying, start, middle) + await self._chain_window(
                underlying, middle + timedelta(days=1), end
            )
        return parse_chain(body, underlying)

    async def quotes(self, symbols: Sequence[str]) -> dict[str, Quote]:
        body = await self.http.json(
            "GET",
            "/marketdata/v1/quotes",
            params={"symbols": ",".join(wire_symbol(s) for s in symbols)},
        )
        result = {}
        for raw, item in (body or {}).items():
            symbol = padded(raw.lstrip("$")) if is_option_symbol(raw) else raw.lstrip("$")
            result[symbol] = quote_from(symbol, item.get("quote") or {}, QUOTE_KEYS)
        return result

    # -- orders ------------------------------------------------------------------------

    async def preview(self, order: OrderRequest) -> Preview:
        h = await self._account_hash()
        body = await self.http.json(
            "POST", f"/trader/v1/accounts/{h}/previewOrder", json=order_body(order), idempotent=True
        )
        projected = projected_buying_power(body)
        current = None if projected is None else (await self.account()).option_buying_power
        return preview_from(body, current)

    async def _submit(self, order: OrderRequest) -> Order:
        if not (self.live or self.rehearsal):
            raise LiveTradingNotEnabled(
                "Schwab has no sandbox, so placing an order is real: run with --live to "
                "allow it (previews and reading work without it)",
                broker=NAME,
            )
        h = await self._account_hash()
        body = order_body(order)
        self._keys.intend(order.client_key, body, self._clock())  # findable if the id is lost
        try:
            response = await self.http.send(
                "POST", f"/trader/v1/accounts/{h}/orders", json=body, idempotent=False
            )
        except InvalidRequest as error:
            raise OrderRejected(str(error), broker=NAME, status=error.status) from None
        try:
            order_id = id_from_location(response)
        except MalformedResponse as error:  # accepted, but which order is it?
            return await self._after_ambiguous(order, error)
        self._keys.put(order.client_key, order_id)
        return await self.order(order_id, order)

    async def order(self, order_id: str, request: OrderRequest | None = None) -> Order:
        h = await self._account_hash()
        data = await self.http.json("GET", f"/trader/v1/accounts/{h}/orders/{order_id}")
        return parse_order(data, request, self._keys.key_of(order_id))

    async def find_order(self, client_key: str) -> Order | None:
        """By the id kept for the key; else, for an order sent without a known id, among the
        account's orders by its legs, quantity, type and price around the time it was sent."""
        order_id = self._keys.get(client_key)
        if order_id is not None:
            return await self.order(order_id)
        intent = self._keys.intent(client_key)
        if intent is None:
            return None
        body, sent = intent
        return await self._match(client_key, body, sent, None)

    async def _find(self, order: OrderRequest) -> Order | None:
        found = await self.find_order(order.client_key)
        if found is not None:
            return found
        return await self._match(order.client_key, order_body(order), None, order)

    async def _match(
        self, key: str, body: dict[str, Any], sent: datetime | None, request: OrderRequest | None
    ) -> Order | None:
        """The account's order that is this key's: identical orders (same legs, quantity,
        type and price) are given to the sends that may have placed them first come, first
        served, so one order is never claimed by two intents, nor by an intent that is
        still behind an earlier unresolved one."""
        h = await self._account_hash()
        now = self._clock()
        earliest = self._keys.earliest_intent() or sent
        start = (earliest - timedelta(minutes=1)) if earliest else now - timedelta(days=1)
        rows = await self.http.json(
            "GET",
            f"/trader/v1/accounts/{h}/orders",
            params={
                "fromEnteredTime": start.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                "toEnteredTime": (now + timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            },
        )
        row = self._keys.claim(key, body, rows or [])
        return None if row is None else parse_order(row, request, key)

    async def cancel(self, order_id: str) -> Order:
        h = await self._account_hash()
        await self.http.send("DELETE", f"/trader/v1/accounts/{h}/orders/{order_id}")
        return await self.order(order_id)

    async def replace(self, order_id: str, limit_price: Decimal) -> Order:
        current = await self.order(order_id)
        request = current.request.with_price(limit_price)
        h = await self._account_hash()
        try:
            response = await self.http.send(
                "PUT", f"/trader/v1/accounts/{h}/orders/{order_id}", json=order_body(request)
            )
        except InvalidRequest as error:
            raise OrderRejected(str(error), broker=NAME, status=error.status) from None
        new_id = id_from_location(response)
        self._keys.put(request.client_key, new_id)
        return await self.order(new_id, request)
