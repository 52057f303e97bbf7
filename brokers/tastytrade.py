"""tastytrade: OAuth, accounts, balances, positions, nested chains, market metrics, DXLink
quotes and greeks, multi-leg orders with dry-run preview, cancel/replace, status.

Wire traps handled here: numbers are strings; `price` is positive with `price-effect`
Credit/Debit; positions carry an unsigned quantity plus `quantity-direction`; the chain has
no quotes (they come from DXLink by streamer symbol); HV fields are in percent while the IV
index and IV rank are fractions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from typing import Any

import httpx

from brokers.base import HttpBroker
from brokers.credentials import EnvVar, Secret, read_env
from brokers.dxlink import Connect, DXLinkFeed
from brokers.endpoints import endpoint, timeout
from brokers.errors import InvalidRequest, MalformedResponse, NotFound, OrderRejected
from brokers.futures import parse_future
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
    OrderType,
    Position,
    Preview,
    PriceEffect,
    Quote,
    TimeInForce,
)
from brokers.oauth import AccessToken, Clock, utc_now
from brokers.occ import is_index, is_option_symbol, padded, parse_occ, streamer_symbol
from brokers.pricing import quoted_price, quoted_stop
from brokers.wire import decimal_or_none, float_or_none, int_or_none, money, require, timestamp

NAME = "tastytrade"
LIVE_URL = "https://api.tastyworks.com"
SANDBOX_URL = "https://api.cert.tastyworks.com"
ENV = [
    EnvVar("TASTYTRADE_CLIENT_SECRET", "the OAuth application's client secret"),
    EnvVar("TASTYTRADE_REFRESH_TOKEN", "a refresh token from OAuth Applications > Create Grant"),
    EnvVar("TASTYTRADE_ACCOUNT", "account number (default: the first account)", required=False),
]
SOURCE = "rulesengine"

_STATUS = {
    "Received": OrderStatus.WORKING,
    "Routed": OrderStatus.WORKING,
    "In Flight": OrderStatus.WORKING,
    "Live": OrderStatus.WORKING,
    "Contingent": OrderStatus.WORKING,
    "Cancel Requested": OrderStatus.WORKING,
    "Replace Requested": OrderStatus.WORKING,
    "Filled": OrderStatus.FILLED,
    "Cancelled": OrderStatus.CANCELLED,
    "Expired": OrderStatus.EXPIRED,
    "Rejected": OrderStatus.REJECTED,
    "Removed": OrderStatus.CANCELLED,
    "Partially Removed": OrderStatus.CANCELLED,
}
_ACTIONS = {
    (True, Intent.OPEN): "Buy to Open",
    (False, Intent.OPEN): "Sell to Open",
    (True, Intent.CLOSE): "Buy to Close",
    (False, Intent.CLOSE): "Sell to Close",
}
_STOCK_ACTIONS = {True: "Buy", False: "Sell"}


@dataclass(frozen=True)
class MarketMetrics:
    symbol: str
    iv_index: float | None  # fraction
    iv_rank: float | None  # fraction 0..1
    iv_percentile: float | None  # fraction 0..1
    hv_30: float | None  # fraction (the wire sends percent)


class TastytradeBroker(HttpBroker):
    name = NAME
    capabilities = Capabilities(
        preview=True,
        replace=True,
        streaming_quotes=True,
        client_order_ids=True,
        sandbox=True,
        notes=("quotes and greeks stream over DXLink", "orders tagged with external-identifier"),
    )

    def __init__(
        self,
        client_secret: str,
        refresh_token: str,
        *,
        account: str | None = None,
        live: bool = False,
        transport: httpx.AsyncBaseTransport | None = None,
        connect: Connect | None = None,
        retry: RetryPolicy | None = None,
        sleep: Sleep | None = None,
        clock: Clock = utc_now,
        quote_silence_timeout: float = 10.0,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.live = live
        self.quote_silence_timeout = quote_silence_timeout
        self._token = AccessToken(NAME, self._request_token, clock)
        url = endpoint(
            NAME,
            "RULES_TASTYTRADE_URL",
            LIVE_URL if live else SANDBOX_URL,
            live=live,
            real_hosts={"api.tastyworks.com"},
            env=env,
        )
        http = HttpClient(
            NAME,
            url,
            timeout=timeout(env),
            transport=transport,
            retry=retry,
            auth_headers=self._token.headers,
            refresh_auth=self._token.refresh,
            sleep=sleep,
        )
        super().__init__(http)
        self._secret, self._refresh = Secret(client_secret), Secret(refresh_token)
        self._account = account
        self._connect = connect
        self._feed: DXLinkFeed | None = None
        self._streamer: dict[str, str] = {}  # padded OCC -> DX streamer symbol

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **kw: Any) -> TastytradeBroker:
        values = read_env(NAME, ENV, env)
        account = values["TASTYTRADE_ACCOUNT"]
        return cls(
            values.required("TASTYTRADE_CLIENT_SECRET").reveal(),
            values.required("TASTYTRADE_REFRESH_TOKEN").reveal(),
            account=account.reveal() if account else None,
            env=env,
            **kw,
        )

    async def _request_token(self) -> dict:
        body = {
            "grant_type": "refresh_token",
            "refresh_token": self._refresh.reveal(),
            "client_secret": self._secret.reveal(),
        }
        return await self.http.json(
            "POST", "/oauth/token", json=body, idempotent=True, authenticate=False
        )

    async def account_number(self) -> str:
        if self._account is None:
            body = await self.http.json("GET", "/customers/me/accounts")
            items = require(body, "data", "items", broker=NAME)
            if not items:
                raise NotFound("the login has no accounts", broker=NAME)
            self._account = require(items[0], "account", "account-number", broker=NAME)
        return self._account

    # -- reading -----------------------------------------------------------------------

    async def account(self) -> Account:
        acct = await self.account_number()
        data = require(
            await self.http.json("GET", f"/accounts/{acct}/balances"), "data", broker=NAME
        )
        return Account(
            account_id=acct,
            net_liquidation=_money(data, "net-liquidating-value"),
            buying_power=_money(data, "equity-buying-power"),
            option_buying_power=_money(data, "derivative-buying-power"),
            cash=decimal_or_none(data.get("cash-balance")),
        )

    async def positions(self) -> list[Position]:
        acct = await self.account_number()
        body = await self.http.json("GET", f"/accounts/{acct}/positions")
        return [_position(item) for item in require(body, "data", "items", broker=NAME)]

    async def option_chain(self, underlying: str) -> list[ChainEntry]:
        body = await self.http.json("GET", f"/option-chains/{underlying}/nested")
        entries = []
        for root in require(body, "data", "items", broker=NAME):
            multiplier = int_or_none(root.get("shares-per-contract")) or 100
            for expiration in root.get("expirations", []):
                for strike in expiration.get("strikes", []):
                    for right, key in (("C", "call"), ("P", "put")):
                        if strike.get(key):
                            entries.append(
                                _chain_entry(
                                    underlying, root, expiration, strike, right, key, multiplier
                                )
                            )
        self._streamer.update((e.symbol, e.streamer_symbol) for e in entries if e.streamer_symbol)
        return entries

    async def market_metrics(self, symbols: Sequence[str]) -> dict[str, MarketMetrics]:
        body = await self.http.json("GET", "/market-metrics", params={"symbols": ",".join(symbols)})
        result = {}
        for item in require(body, "data", "items", broker=NAME):
            hv = float_or_none(item.get("historical-volatility-30-day"))
            result[item["symbol"]] = MarketMetrics(
                symbol=item["symbol"],
                iv_index=float_or_none(item.get("implied-volatility-index")),
                iv_rank=float_or_none(item.get("implied-volatility-index-rank")),
                iv_percentile=float_or_none(item.get("implied-volatility-percentile")),
                hv_30=None if hv is None else hv / 100.0,
            )
        return result

    async def quotes(self, symbols: Sequence[str]) -> dict[str, Quote]:
        feed = await self._dxlink()
        streamer = {s: self._streamer.get(s) or _streamer_of(s) for s in symbols}
        got = await feed.snapshot(list(streamer.values()))
        return {s: replace(got[dx], symbol=s) for s, dx in streamer.items() if dx in got}

    async def _dxlink(self) -> DXLinkFeed:
        if self._feed is None:
            data = require(await self.http.json("GET", "/api-quote-tokens"), "data", broker=NAME)
            self._feed = DXLinkFeed(
                require(data, "dxlink-url", broker=NAME),
                require(data, "token", broker=NAME),
                connect=self._connect,
                silence_timeout=self.quote_silence_timeout,
            )
        return self._feed

    # -- orders ------------------------------------------------------------------------

    async def preview(self, order: OrderRequest) -> Preview:
        acct = await self.account_number()
        try:
            body = await self.http.json(
                "POST", f"/accounts/{acct}/orders/dry-run", json=order_body(order), idempotent=True
            )
        except InvalidRequest as error:
            return Preview(accepted=False, errors=(str(error),), source=NAME)
        data = require(body, "data", broker=NAME)
        bp = data.get("buying-power-effect") or {}
        fees = data.get("fee-calculation") or {}
        errors = tuple(e.get("message", "") for e in data.get("errors") or [])
        return Preview(
            accepted=not errors,
            buying_power_effect=_effect_amount(bp, "change-in-buying-power"),
            fees=_effect_amount(fees, "total-fees"),
            warnings=tuple(w.get("message", "") for w in data.get("warnings") or []),
            errors=errors,
            source=NAME,
        )

    async def _submit(self, order: OrderRequest) -> Order:
        acct = await self.account_number()
        try:
            body = await self.http.json(
                "POST", f"/accounts/{acct}/orders", json=order_body(order), idempotent=False
            )
        except InvalidRequest as error:
            raise OrderRejected(str(error), broker=NAME, status=error.status) from None
        return parse_order(require(body, "data", "order", broker=NAME), order)

    async def order(self, order_id: str) -> Order:
        acct = await self.account_number()
        body = await self.http.json("GET", f"/accounts/{acct}/orders/{order_id}")
        return parse_order(require(body, "data", broker=NAME))

    async def find_order(self, client_key: str) -> Order | None:
        acct = await self.account_number()
        body = await self.http.json("GET", f"/accounts/{acct}/orders/live")
        for item in require(body, "data", "items", broker=NAME):
            if item.get("external-identifier") == client_key:
                return parse_order(item)
        return None

    async def cancel(self, order_id: str) -> Order:
        acct = await self.account_number()
        body = await self.http.json("DELETE", f"/accounts/{acct}/orders/{order_id}")
        return parse_order(require(body, "data", broker=NAME))

    async def replace(self, order_id: str, limit_price: Decimal) -> Order:
        current = await self.order(order_id)
        acct = await self.account_number()
        request = current.request.with_price(limit_price)
        try:
            body = await self.http.json(
                "PUT", f"/accounts/{acct}/orders/{order_id}", json=order_body(request)
            )
        except InvalidRequest as error:
            raise OrderRejected(str(error), broker=NAME, status=error.status) from None
        return parse_order(require(body, "data", broker=NAME), request)

    async def aclose(self) -> None:
        if self._feed is not None:
            await self._feed.close()
        await super().aclose()


def order_body(order: OrderRequest) -> dict[str, Any]:
    """Our OrderRequest as tastytrade's order JSON (positive price + price-effect)."""
    legs = []
    for leg in order.legs:
        option = is_option_symbol(leg.symbol)
        future = parse_future(leg.symbol)
        kind = "Equity Option" if option else "Future" if future else "Equity"
        legs.append(
            {
                "instrument-type": kind,
                "symbol": future_symbol(leg.symbol) if future else padded(leg.symbol),
                "quantity": abs(leg.ratio) * order.quantity,
                "action": _ACTIONS[(leg.ratio > 0, leg.intent)]
                if option
                else _STOCK_ACTIONS[leg.ratio > 0],
            }
        )
    return {
        "time-in-force": _TIME_IN_FORCE[order.time_in_force],
        "order-type": _ORDER_TYPES[order.order_type],
        **_prices(order),
        "source": SOURCE,
        "external-identifier": order.client_key,
        "legs": legs,
    }


def parse_order(data: dict[str, Any], request: OrderRequest | None = None) -> Order:
    """tastytrade order JSON -> Order; the request is rebuilt from the legs if not given."""
    legs = data.get("legs") or []
    size = int_or_none(data.get("size")) or 0
    if request is None:
        request = _request_from(data, legs, size)
    fills, filled = _fills(str(data.get("id", "")), legs, request)
    status = _STATUS.get(str(data.get("status")), OrderStatus.WORKING)
    if status is OrderStatus.WORKING and filled:
        status = OrderStatus.PARTIALLY_FILLED
    return Order(
        id=str(data.get("id", "")),
        client_key=data.get("external-identifier") or "",
        status=status,
        request=request,
        filled_quantity=filled,
        average_price=_net_average(fills, request, filled),
        fills=fills,
        reason=data.get("reject-reason") or "",
        updated=timestamp(data.get("updated-at")),
    )


_ORDER_TYPES = {OrderType.LIMIT: "Limit", OrderType.MARKET: "Market", OrderType.STOP: "Stop"}


def _prices(order: OrderRequest) -> dict[str, str]:
    """A limit order's price and effect; a stop's trigger; a market order has neither."""
    if order.order_type is OrderType.MARKET:
        return {}
    if order.order_type is OrderType.STOP:
        return {"stop-trigger": money(quoted_stop(order))}
    effect = "Credit" if order.effect is PriceEffect.CREDIT else "Debit"
    return {"price": money(quoted_price(order)), "price-effect": effect}


def future_symbol(symbol: str) -> str:
    """Ours (`/MESZ18`) as tastytrade spells a futures contract: one digit of year (`/MESZ8`)."""
    return symbol[:-2] + symbol[-1]


_TIME_IN_FORCE = {TimeInForce.DAY: "Day", TimeInForce.GTC: "GTC", TimeInForce.IOC: "IOC"}
_FROM_TIME_IN_FORCE = {text: tif for tif, text in _TIME_IN_FORCE.items()}


def _request_from(data: dict[str, Any], legs: list[dict], size: int) -> OrderRequest:
    units = size or max(1, min(int_or_none(leg.get("quantity")) or 1 for leg in legs))
    parsed = []
    for leg in legs:
        action = leg.get("action", "")
        sign = 1 if action.startswith("Buy") else -1
        intent = Intent.CLOSE if action.endswith("Close") else Intent.OPEN
        ratio = (int_or_none(leg.get("quantity")) or units) // units
        parsed.append(OrderLeg(padded(leg["symbol"]), sign * ratio, intent))
    effect = PriceEffect.DEBIT if data.get("price-effect") == "Debit" else PriceEffect.CREDIT
    return OrderRequest(
        legs=tuple(parsed),
        quantity=units,
        limit_price=decimal_or_none(data.get("price")) or Decimal(0),
        effect=effect,
        client_key=data.get("external-identifier") or "",
        time_in_force=_FROM_TIME_IN_FORCE.get(data.get("time-in-force", "Day"), TimeInForce.DAY),
        underlying=data.get("underlying-symbol") or "",
    )


def _fills(order_id: str, legs: list[dict], request: OrderRequest) -> tuple[tuple[Fill, ...], int]:
    fills: list[Fill] = []
    units_done = []
    ratios = {leg.symbol: leg.ratio for leg in request.legs}
    for leg in legs:
        symbol = padded(leg.get("symbol", ""))
        ratio = ratios.get(symbol, 1)
        done = 0
        for f in leg.get("fills") or []:
            qty = int_or_none(f.get("quantity")) or 0
            done += qty
            fills.append(
                Fill(
                    order_id,
                    symbol,
                    qty if ratio > 0 else -qty,
                    decimal_or_none(f.get("fill-price")) or Decimal(0),
                    timestamp(f.get("filled-at")) or utc_now(),
                    fill_id=str(f.get("fill-id", "")),
                )
            )
        units_done.append(done // abs(ratio))
    return tuple(fills), min(units_done) if units_done else 0


def _net_average(fills: tuple[Fill, ...], request: OrderRequest, units: int) -> Decimal | None:
    if not units:
        return None
    cash = sum((-f.quantity * f.price for f in fills), Decimal(0))
    per_unit = cash / units
    return request.effect.signed(per_unit)


def _position(item: dict[str, Any]) -> Position:
    qty = int_or_none(item.get("quantity")) or 0
    if item.get("quantity-direction") == "Short":
        qty = -qty
    return Position(
        symbol=padded(item["symbol"]),
        quantity=qty,
        average_price=decimal_or_none(item.get("average-open-price")),
        multiplier=int_or_none(item.get("multiplier")) or 1,
        underlying=item.get("underlying-symbol") or "",
        mark=decimal_or_none(item.get("mark-price") or item.get("mark")),
    )


def _chain_entry(
    underlying: str,
    root: dict,
    expiration: dict,
    strike: dict,
    right: str,
    key: str,
    multiplier: int,
) -> ChainEntry:
    symbol = padded(strike[key])
    parsed = parse_occ(symbol)
    contract = OptionContract(
        root=root.get("root-symbol") or parsed.root,
        expiry=parsed.expiry
        if not expiration.get("expiration-date")
        else _date(expiration["expiration-date"]),
        right=right,
        strike=decimal_or_none(strike.get("strike-price")) or parsed.strike,
    )
    return ChainEntry(
        symbol=symbol,
        underlying=underlying,
        contract=contract,
        multiplier=multiplier,
        settlement=expiration.get("settlement-type"),
        style="european" if is_index(underlying) else "american",
        streamer_symbol=strike.get(f"{key}-streamer-symbol"),
    )


def _date(text: str) -> date:
    return date.fromisoformat(text)


def _money(data: dict[str, Any], key: str) -> Decimal:
    value = decimal_or_none(data.get(key))
    if value is None:
        raise MalformedResponse(f"balances have no `{key}`", broker=NAME)
    return value


def _effect_amount(data: dict[str, Any], key: str) -> Decimal | None:
    """An amount with its `-effect` sibling: a debit is positive (money out), a credit not."""
    value = decimal_or_none(data.get(key))
    if value is None:
        return None
    return value if data.get(f"{key}-effect") != "Credit" else -value


def _streamer_of(symbol: str) -> str:
    return streamer_symbol(symbol) if is_option_symbol(symbol) else symbol
