"""Charles Schwab: OAuth with the 7-day refresh token tracked, accounts by hash, positions,
option chains fetched in date windows, quotes, orders (NET_CREDIT / NET_DEBIT), previewOrder,
cancel/replace, status.

Wire traps handled here: positions have separate long and short quantities; chain `volatility`
is in percent and greeks may be -999; big chains come back truncated (`isChainTruncated`, or a
502), so they are fetched in date windows that split until each fits; a placed order answers
201 with an empty body and its id in the `Location` header; a previewOrder 200 with `rejects`
is a rejection; index underlyings are spelled `$SPX`. Schwab has no client order id: keys
are mapped to order ids as soon as the id is known, and a key whose id was lost (a crash
between the POST and its answer) is found by matching the order's legs and price among the
day's orders.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

from brokers.base import HttpBroker
from brokers.credentials import EnvVar, Secret, read_env
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
    Fill,
    Intent,
    OptionContract,
    Order,
    OrderLeg,
    OrderRequest,
    OrderStatus,
    Position,
    Preview,
    PriceEffect,
    Quote,
    TimeInForce,
)
from brokers.oauth import AccessToken, Clock, utc_now
from brokers.occ import is_index, is_option_symbol, padded, parse_occ
from brokers.wire import (
    decimal_or_none,
    greeks,
    int_or_none,
    iv_from_percent,
    money,
    require,
    timestamp,
)

NAME = "schwab"
BASE_URL = "https://api.schwabapi.com"
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

_WORKING = {
    "AWAITING_PARENT_ORDER",
    "AWAITING_CONDITION",
    "AWAITING_STOP_CONDITION",
    "AWAITING_MANUAL_REVIEW",
    "ACCEPTED",
    "AWAITING_UR_OUT",
    "PENDING_ACTIVATION",
    "QUEUED",
    "WORKING",
    "PENDING_CANCEL",
    "PENDING_REPLACE",
    "NEW",
    "AWAITING_RELEASE_TIME",
    "PENDING_ACKNOWLEDGEMENT",
    "PENDING_RECALL",
}
_FINAL = {
    "REJECTED": OrderStatus.REJECTED,
    "CANCELED": OrderStatus.CANCELLED,
    "REPLACED": OrderStatus.REPLACED,
    "FILLED": OrderStatus.FILLED,
    "EXPIRED": OrderStatus.EXPIRED,
}


class SchwabBroker(HttpBroker):
    name = NAME
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
    ) -> None:
        self.live = live
        self._app = (Secret(app_key), Secret(app_secret))
        self._refresh = Secret(refresh_token)
        self.refresh_issued = refresh_issued
        self._clock = clock
        self._token = AccessToken(NAME, self._request_token, clock)
        super().__init__(
            HttpClient(
                NAME,
                BASE_URL,
                transport=transport,
                retry=retry,
                auth_headers=self._token.headers,
                refresh_auth=self._token.refresh,
                sleep=sleep,
            )
        )
        self._account_number = account
        self._hash: str | None = None
        self._keys = _KeyStore(key_store)

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
        return [_position(p) for p in data.get("positions") or []]

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
            "symbol": _wire_symbol(underlying),
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
            params={"symbols": ",".join(_wire_symbol(s) for s in symbols)},
        )
        result = {}
        for raw, item in (body or {}).items():
            symbol = padded(raw.lstrip("$")) if is_option_symbol(raw) else raw.lstrip("$")
            result[symbol] = _quote(symbol, item.get("quote") or {}, _QUOTE_KEYS)
        return result

    # -- orders ------------------------------------------------------------------------

    async def preview(self, order: OrderRequest) -> Preview:
        h = await self._account_hash()
        body = await self.http.json(
            "POST", f"/trader/v1/accounts/{h}/previewOrder", json=order_body(order), idempotent=True
        )
        result = body.get("orderValidationResult") or {}
        rejects = tuple(r.get("message", "") for r in result.get("rejects") or [])
        balance = (body.get("orderStrategy") or {}).get("orderBalance") or {}
        projected = decimal_or_none(balance.get("projectedBuyingPower"))
        effect = None
        if projected is not None:
            effect = (await self.account()).option_buying_power - projected
        return Preview(
            accepted=not rejects,
            buying_power_effect=effect,
            fees=_preview_fees(body.get("commissionAndFee") or {}),
            warnings=tuple(w.get("message", "") for w in result.get("warns") or []),
            errors=rejects,
            source=NAME,
        )

    async def _submit(self, order: OrderRequest) -> Order:
        if not self.live:
            raise LiveTradingNotEnabled(
                "Schwab has no sandbox, so placing an order is real: run with --live to "
                "allow it (previews and reading work without it)",
                broker=NAME,
            )
        h = await self._account_hash()
        try:
            response = await self.http.send(
                "POST", f"/trader/v1/accounts/{h}/orders", json=order_body(order), idempotent=False
            )
        except InvalidRequest as error:
            raise OrderRejected(str(error), broker=NAME, status=error.status) from None
        order_id = _id_from_location(response)
        self._keys.put(order.client_key, order_id)
        return await self.order(order_id, order)

    async def order(self, order_id: str, request: OrderRequest | None = None) -> Order:
        h = await self._account_hash()
        data = await self.http.json("GET", f"/trader/v1/accounts/{h}/orders/{order_id}")
        return parse_order(data, request, self._keys.key_of(order_id))

    async def find_order(self, client_key: str) -> Order | None:
        order_id = self._keys.get(client_key)
        return None if order_id is None else await self.order(order_id)

    async def _find(self, order: OrderRequest) -> Order | None:
        found = await self.find_order(order.client_key)
        if found is not None:
            return found
        h = await self._account_hash()
        now = self._clock()
        rows = await self.http.json(
            "GET",
            f"/trader/v1/accounts/{h}/orders",
            params={
                "fromEnteredTime": (now - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                "toEnteredTime": (now + timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            },
        )
        wanted = _fingerprint(order_body(order))
        known = set(self._keys.ids())
        for row in rows or []:
            if str(row.get("orderId")) not in known and _fingerprint(row) == wanted:
                self._keys.put(order.client_key, str(row["orderId"]))
                return parse_order(row, order, order.client_key)
        return None

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
        new_id = _id_from_location(response)
        self._keys.put(request.client_key, new_id)
        return await self.order(new_id, request)


class _KeyStore:
    """client key -> Schwab order id, kept in a JSON file when a path is given."""

    def __init__(self, path: Path | None) -> None:
        self._path = path
        self._ids: dict[str, str] = json.loads(path.read_text()) if path and path.exists() else {}

    def put(self, key: str, order_id: str) -> None:
        self._ids[key] = order_id
        if self._path is not None:
            tmp = self._path.with_suffix(".tmp")
            tmp.write_text(json.dumps(self._ids, indent=1))
            tmp.replace(self._path)

    def get(self, key: str) -> str | None:
        return self._ids.get(key)

    def ids(self) -> list[str]:
        return list(self._ids.values())

    def key_of(self, order_id: str) -> str:
        return next((k for k, v in self._ids.items() if v == order_id), "")


def order_body(order: OrderRequest) -> dict[str, Any]:
    legs = []
    for leg in order.legs:
        buy = leg.ratio > 0
        option = is_option_symbol(leg.symbol)
        instruction = ("BUY" if buy else "SELL") + (
            ("_TO_OPEN" if leg.intent is Intent.OPEN else "_TO_CLOSE") if option else ""
        )
        legs.append(
            {
                "instruction": instruction,
                "quantity": abs(leg.ratio) * order.quantity,
                "instrument": {
                    "symbol": padded(leg.symbol),
                    "assetType": "OPTION" if option else "EQUITY",
                },
            }
        )
    multi = len(order.legs) > 1
    return {
        "orderType": ("NET_CREDIT" if order.effect is PriceEffect.CREDIT else "NET_DEBIT")
        if multi
        else "LIMIT",
        "session": "NORMAL",
        "duration": "DAY" if order.time_in_force is TimeInForce.DAY else "GOOD_TILL_CANCEL",
        "orderStrategyType": "SINGLE",
        **({"complexOrderStrategyType": _complex_type(order)} if multi else {}),
        "price": money(order.limit_price),
        "quantity": order.quantity,
        "orderLegCollection": legs,
    }


def _complex_type(order: OrderRequest) -> str:
    options = [leg for leg in order.legs if is_option_symbol(leg.symbol)]
    if len(order.legs) == 2 and len(options) == 2:
        a, b = (parse_occ(leg.symbol) for leg in options)
        if a.expiry != b.expiry:
            return "CALENDAR" if a.strike == b.strike else "DIAGONAL"
        return (
            "VERTICAL"
            if a.right == b.right
            else ("STRADDLE" if a.strike == b.strike else "STRANGLE")
        )
    if len(order.legs) == 2 and len(options) == 1:
        return "COVERED"
    if len(order.legs) == 4:
        return "IRON_CONDOR"
    if len(order.legs) == 3:
        return "BUTTERFLY"
    return "CUSTOM"


def _fingerprint(body: dict[str, Any]) -> tuple:
    legs = sorted(
        (
            padded(str(leg.get("instrument", {}).get("symbol", ""))),
            str(leg.get("instruction")),
            int(float(leg.get("quantity", 0))),
        )
        for leg in body.get("orderLegCollection") or []
    )
    price = decimal_or_none(body.get("price"))
    return (tuple(legs), str(body.get("orderType")), None if price is None else price.normalize())


def _id_from_location(response: httpx.Response) -> str:
    location = response.headers.get("Location", "")
    order_id = location.rstrip("/").rsplit("/", 1)[-1]
    if not order_id:
        raise MalformedResponse(
            "order accepted without a Location header; check the orders "
            "page before placing it again",
            broker=NAME,
        )
    return order_id


def parse_order(
    data: dict[str, Any], request: OrderRequest | None = None, client_key: str = ""
) -> Order:
    order_id = str(require(data, "orderId", broker=NAME))
    legs = data.get("orderLegCollection") or []
    if request is None:
        request = _request_from(data, legs, client_key)
    symbols = {leg.get("legId"): padded(leg["instrument"]["symbol"]) for leg in legs}
    signs = {
        leg.get("legId"): 1 if str(leg.get("instruction")).startswith("BUY") else -1 for leg in legs
    }
    fills = []
    for activity in data.get("orderActivityCollection") or []:
        if activity.get("activityType") != "EXECUTION":
            continue
        for ex in activity.get("executionLegs") or []:
            leg_id = ex.get("legId")
            fills.append(
                Fill(
                    order_id,
                    symbols.get(leg_id, ""),
                    signs.get(leg_id, 1) * (int_or_none(ex.get("quantity")) or 0),
                    decimal_or_none(ex.get("price")) or Decimal(0),
                    timestamp(ex.get("time")) or datetime.now(UTC),
                    fill_id=f"{activity.get('activityId', '')}:{leg_id}",
                )
            )
    raw = str(data.get("status"))
    filled = int_or_none(data.get("filledQuantity")) or 0
    status = _FINAL.get(raw, OrderStatus.WORKING)
    if status is OrderStatus.WORKING and filled:
        status = OrderStatus.PARTIALLY_FILLED
    average = None
    if filled and fills:
        cash = sum((-f.quantity * f.price for f in fills), Decimal(0))
        average = abs(cash / filled)
    return Order(
        id=order_id,
        client_key=client_key or request.client_key,
        status=status,
        request=request,
        filled_quantity=filled,
        average_price=average,
        fills=tuple(fills),
        reason=data.get("statusDescription") or "",
        updated=timestamp(data.get("closeTime") or data.get("enteredTime")),
    )


def _request_from(data: dict[str, Any], legs: list[dict], client_key: str) -> OrderRequest:
    qty = int_or_none(data.get("quantity")) or 1
    parsed = tuple(
        OrderLeg(
            padded(leg["instrument"]["symbol"]),
            (1 if str(leg.get("instruction")).startswith("BUY") else -1)
            * max(1, (int_or_none(leg.get("quantity")) or qty) // qty),
            Intent.CLOSE if str(leg.get("instruction")).endswith("CLOSE") else Intent.OPEN,
        )
        for leg in legs
    )
    kind = data.get("orderType")
    if kind in ("NET_CREDIT", "NET_DEBIT"):
        effect = PriceEffect.CREDIT if kind == "NET_CREDIT" else PriceEffect.DEBIT
    else:
        effect = PriceEffect.DEBIT if parsed and parsed[0].ratio > 0 else PriceEffect.CREDIT
    return OrderRequest(
        legs=parsed or (OrderLeg("?", 1),),
        quantity=qty,
        limit_price=decimal_or_none(data.get("price")) or Decimal(0),
        effect=effect,
        client_key=client_key,
        time_in_force=TimeInForce.GTC
        if data.get("duration") == "GOOD_TILL_CANCEL"
        else TimeInForce.DAY,
    )


def parse_chain(body: dict[str, Any], underlying: str) -> list[ChainEntry]:
    entries = []
    for key in ("callExpDateMap", "putExpDateMap"):
        for by_strike in (body.get(key) or {}).values():
            for contracts in by_strike.values():
                for c in contracts:
                    entries.append(_chain_entry(c, underlying))
    return entries


def _chain_entry(c: dict[str, Any], underlying: str) -> ChainEntry:
    symbol = padded(c["symbol"])
    parsed = parse_occ(symbol)
    expiry = timestamp(c.get("expirationDate"))
    return ChainEntry(
        symbol=symbol,
        underlying=underlying.lstrip("$"),
        contract=OptionContract(
            root=c.get("optionRoot") or parsed.root,
            expiry=expiry.date() if expiry else parsed.expiry,
            right="C" if c.get("putCall") == "CALL" else "P",
            strike=decimal_or_none(c.get("strikePrice")) or parsed.strike,
        ),
        multiplier=int_or_none(c.get("multiplier")) or 100,
        settlement={"P": "PM", "A": "AM"}.get(str(c.get("settlementType"))),
        style={"A": "american", "E": "european"}.get(str(c.get("exerciseType"))),
        quote=_quote(symbol, c, _CHAIN_KEYS),
    )


# (bid, ask, last, quote time): the chain and the quotes endpoint name them differently
_CHAIN_KEYS = ("bid", "ask", "last", "quoteTimeInLong")
_QUOTE_KEYS = ("bidPrice", "askPrice", "lastPrice", "quoteTime")


def _quote(symbol: str, data: dict[str, Any], keys: tuple[str, str, str, str]) -> Quote:
    bid, ask, last, when = keys
    return Quote(
        symbol=symbol,
        bid=decimal_or_none(data.get(bid)),
        ask=decimal_or_none(data.get(ask)),
        bid_size=int_or_none(data.get("bidSize")),
        ask_size=int_or_none(data.get("askSize")),
        last=decimal_or_none(data.get(last)),
        iv=iv_from_percent(data.get("volatility")),  # percent on this wire
        **greeks(data),
        time=timestamp(data.get(when)),
    )


def _position(p: dict[str, Any]) -> Position:
    inst = p.get("instrument") or {}
    long_q = int_or_none(p.get("longQuantity")) or 0
    short_q = int_or_none(p.get("shortQuantity")) or 0
    qty = long_q - short_q
    option = inst.get("assetType") == "OPTION"
    multiplier = 100 if option else 1
    value = decimal_or_none(p.get("marketValue"))
    mark = None if value is None or not qty else abs(value / (qty * multiplier))
    symbol = padded(inst.get("symbol", ""))
    return Position(
        symbol=symbol,
        quantity=qty,
        average_price=decimal_or_none(p.get("averagePrice")),
        multiplier=multiplier,
        underlying=str(inst.get("underlyingSymbol") or symbol).lstrip("$"),
        mark=mark,
    )


def _preview_fees(data: dict[str, Any]) -> Decimal | None:
    total = Decimal(0)
    found = False
    for part, legs_key, values_key in (
        ("commission", "commissionLegs", "commissionValues"),
        ("fee", "feeLegs", "feeValues"),
    ):
        for leg in (data.get(part) or {}).get(legs_key) or []:
            for value in leg.get(values_key) or []:
                amount = decimal_or_none(value.get("value"))
                if amount is not None:
                    total += amount
                    found = True
    return total if found else None


def _wire_symbol(symbol: str) -> str:
    return f"${symbol}" if is_index(symbol) and not symbol.startswith("$") else symbol
