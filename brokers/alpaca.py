"""Alpaca: keys, account and options buying power, contracts and chain snapshots (paginated),
positions, multi-leg `mleg` orders, cancel/replace, status. There is no order preview.

Wire traps handled here: unpadded OCC symbols; an mleg `limit_price` is signed, positive for
a net debit and negative for a net credit (the opposite of the tastyware SDK); the mleg
parent order has empty strings for symbol, side and asset class; trading numbers are strings
while market-data numbers are JSON numbers; a position's `qty` is signed next to `side`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import httpx

from brokers.base import HttpBroker
from brokers.credentials import EnvVar, Secret, read_env
from brokers.endpoints import endpoint, timeout
from brokers.errors import InvalidRequest, NotFound, NotSupported, OrderRejected
from brokers.futures import is_future_symbol
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
from brokers.occ import is_option_symbol, padded, parse_occ, unpadded
from brokers.pricing import quoted_price, quoted_stop
from brokers.wire import (
    decimal_or_none,
    greeks,
    int_or_none,
    iv_fraction,
    money,
    require,
    timestamp,
)

NAME = "alpaca"
LIVE_URL = "https://api.alpaca.markets"
PAPER_URL = "https://paper-api.alpaca.markets"
DATA_URL = "https://data.alpaca.markets"
ENV = [
    EnvVar("ALPACA_API_KEY_ID", "API key id (paper keys for the paper endpoint)"),
    EnvVar("ALPACA_API_SECRET_KEY", "API secret key"),
    EnvVar("ALPACA_DATA_FEED", "options feed: indicative (free) or opra", required=False),
]
PAGE = 1000

_STATUS = {
    "new": OrderStatus.WORKING,
    "accepted": OrderStatus.WORKING,
    "pending_new": OrderStatus.WORKING,
    "accepted_for_bidding": OrderStatus.WORKING,
    "pending_cancel": OrderStatus.WORKING,
    "pending_replace": OrderStatus.WORKING,
    "held": OrderStatus.WORKING,
    "calculated": OrderStatus.WORKING,
    "stopped": OrderStatus.WORKING,
    "suspended": OrderStatus.WORKING,
    "partially_filled": OrderStatus.PARTIALLY_FILLED,
    "filled": OrderStatus.FILLED,
    "canceled": OrderStatus.CANCELLED,
    "expired": OrderStatus.EXPIRED,
    "done_for_day": OrderStatus.EXPIRED,
    "rejected": OrderStatus.REJECTED,
    "replaced": OrderStatus.REPLACED,
}


class AlpacaBroker(HttpBroker):
    name = NAME
    capabilities = Capabilities(
        preview=False,
        replace=True,
        streaming_quotes=False,
        client_order_ids=True,
        sandbox=True,
        notes=(
            "no order preview: the paper account previews instead",
            "mleg limit_price: positive = debit, negative = credit",
        ),
    )

    def __init__(
        self,
        key_id: str,
        secret_key: str,
        *,
        live: bool = False,
        feed: str = "indicative",
        transport: httpx.AsyncBaseTransport | None = None,
        retry: RetryPolicy | None = None,
        sleep: Sleep | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.live = live
        self._key = Secret(key_id)
        self._secret = Secret(secret_key)

        def client(url: str) -> HttpClient:
            return HttpClient(
                NAME,
                url,
                transport=transport,
                retry=retry,
                sleep=sleep,
                auth_headers=self._headers,
                timeout=timeout(env),
            )

        hosts = {"api.alpaca.markets", "data.alpaca.markets"}
        trading = endpoint(
            NAME, "RULES_ALPACA_URL", LIVE_URL if live else PAPER_URL, live=live,
            real_hosts=hosts, env=env,
        )  # fmt: skip
        data = endpoint(
            NAME, "RULES_ALPACA_DATA_URL", DATA_URL, live=live, real_hosts=hosts, env=env
        )
        super().__init__(client(trading))
        self.data = client(data)
        self.feed = feed

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **kw: Any) -> AlpacaBroker:
        values = read_env(NAME, ENV, env)
        feed = values["ALPACA_DATA_FEED"]
        return cls(
            values.required("ALPACA_API_KEY_ID").reveal(),
            values.required("ALPACA_API_SECRET_KEY").reveal(),
            feed=feed.reveal() if feed else "indicative",
            env=env,
            **kw,
        )

    async def _headers(self) -> dict[str, str]:
        return {"APCA-API-KEY-ID": self._key.reveal(), "APCA-API-SECRET-KEY": self._secret.reveal()}

    # -- reading -----------------------------------------------------------------------

    async def account(self) -> Account:
        data = await self.http.json("GET", "/v2/account")
        equity = decimal_or_none(data.get("equity")) or decimal_or_none(data.get("portfolio_value"))
        warnings = tuple(
            f"account flag {flag} is set"
            for flag in ("trading_blocked", "account_blocked")
            if data.get(flag)
        )
        return Account(
            account_id=str(require(data, "account_number", broker=NAME)),
            net_liquidation=equity or Decimal(0),
            buying_power=decimal_or_none(data.get("buying_power")) or Decimal(0),
            option_buying_power=decimal_or_none(data.get("options_buying_power")) or Decimal(0),
            cash=decimal_or_none(data.get("cash")),
            option_level=int_or_none(
                data.get("options_trading_level") or data.get("options_approved_level")
            ),
            warnings=warnings,
        )

    async def positions(self) -> list[Position]:
        body = await self.http.json("GET", "/v2/positions")
        return [_position(item) for item in body or []]

    async def option_chain(self, underlying: str) -> list[ChainEntry]:
        contract_pages = self._pages(
            self.http,
            "/v2/options/contracts",
            "option_contracts",
            {"underlying_symbols": underlying, "limit": PAGE},
        )
        contracts = [c async for page in contract_pages for c in page]
        snapshot_pages = self._pages(
            self.data,
            f"/v1beta1/options/snapshots/{underlying}",
            "snapshots",
            {"feed": self.feed, "limit": PAGE},
        )
        snapshots = {s: snap async for page in snapshot_pages for s, snap in page.items()}
        return [_chain_entry(c, snapshots.get(c["symbol"]), underlying) for c in contracts]

    async def quotes(self, symbols: Sequence[str]) -> dict[str, Quote]:
        options = [s for s in symbols if is_option_symbol(s)]
        stocks = [s for s in symbols if not is_option_symbol(s)]
        result: dict[str, Quote] = {}
        if options:
            body = await self.data.json(
                "GET",
                "/v1beta1/options/snapshots",
                params={"symbols": ",".join(unpadded(s) for s in options), "feed": self.feed},
            )
            for raw, snap in (body.get("snapshots") or {}).items():
                result[padded(raw)] = _snapshot_quote(padded(raw), snap)
        if stocks:
            body = await self.data.json(
                "GET", "/v2/stocks/quotes/latest", params={"symbols": ",".join(stocks)}
            )
            for symbol, q in (body.get("quotes") or {}).items():
                result[symbol] = _quote(symbol, q)
        return result

    async def _pages(
        self, client: HttpClient, path: str, key: str, params: dict[str, Any]
    ) -> AsyncIterator[Any]:
        """Each page's `key` value, following `next_page_token` to the end."""
        token = None
        while True:
            query = {**params, **({"page_token": token} if token else {})}
            body = await client.json("GET", path, params=query)
            yield require(body, key, broker=NAME)
            token = body.get("next_page_token")
            if not token:
                return

    # -- orders ------------------------------------------------------------------------

    async def preview(self, order: OrderRequest) -> Preview:
        raise NotSupported(
            "Alpaca has no order preview; use the paper account as the preview "
            "(brokers.preview_with_paper)",
            broker=NAME,
        )

    async def _submit(self, order: OrderRequest) -> Order:
        try:
            data = await self.http.json(
                "POST", "/v2/orders", json=order_body(order), idempotent=False
            )
        except InvalidRequest as error:
            raise OrderRejected(str(error), broker=NAME, status=error.status) from None
        return parse_order(data, order)

    async def order(self, order_id: str) -> Order:
        return parse_order(await self.http.json("GET", f"/v2/orders/{order_id}"))

    async def find_order(self, client_key: str) -> Order | None:
        try:
            data = await self.http.json(
                "GET", "/v2/orders:by_client_order_id", params={"client_order_id": client_key}
            )
        except NotFound:
            return None
        return parse_order(data)

    async def cancel(self, order_id: str) -> Order:
        try:
            await self.http.send("DELETE", f"/v2/orders/{order_id}")
        except InvalidRequest as error:
            if error.status != 422:  # 422: already final; report its state below
                raise
        return await self.order(order_id)

    async def replace(self, order_id: str, limit_price: Decimal) -> Order:
        current = await self.order(order_id)
        request = current.request.with_price(limit_price)
        body = {"limit_price": money(_signed_limit(request))}
        try:
            data = await self.http.json(
                "PATCH", f"/v2/orders/{order_id}", json=body, idempotent=True
            )
        except InvalidRequest as error:
            raise OrderRejected(str(error), broker=NAME, status=error.status) from None
        return parse_order(data, request)

    async def aclose(self) -> None:
        await self.data.aclose()
        await super().aclose()


def _signed_limit(order: OrderRequest) -> Decimal:
    """mleg: positive = debit, negative = credit. A single leg's price is always positive."""
    if len(order.legs) == 1:
        return quoted_price(order)
    return order.limit_price if order.effect is PriceEffect.DEBIT else -order.limit_price


def order_body(order: OrderRequest) -> dict[str, Any]:
    if any(is_future_symbol(leg.symbol) for leg in order.legs):
        raise NotSupported(
            "Alpaca's order API takes stock and option orders, not futures: trade futures "
            "through tastytrade or the paper account",
            broker=NAME,
        )
    if order.time_in_force is TimeInForce.IOC and any(leg.is_option for leg in order.legs):
        raise NotSupported(
            "Alpaca takes options orders as day or gtc only, not ioc: use `order: tif: day` "
            "with a `timeout`",
            broker=NAME,
        )
    common: dict[str, Any] = {
        "type": order.order_type.value,
        "time_in_force": order.time_in_force.value,
        "client_order_id": order.client_key,
    }
    if order.order_type is OrderType.LIMIT:
        common["limit_price"] = money(_signed_limit(order))
    elif order.order_type is OrderType.STOP:
        common["stop_price"] = money(quoted_stop(order))
    if len(order.legs) == 1:
        leg = order.legs[0]
        return {
            **common,
            "symbol": unpadded(leg.symbol),
            "qty": str(abs(leg.ratio) * order.quantity),
            "side": "buy" if leg.ratio > 0 else "sell",
            **({"position_intent": _intent(leg)} if leg.is_option else {}),
        }
    return {
        **common,
        "order_class": "mleg",
        "qty": str(order.quantity),
        "legs": [
            {
                "symbol": unpadded(leg.symbol),
                "ratio_qty": str(abs(leg.ratio)),
                "side": "buy" if leg.ratio > 0 else "sell",
                "position_intent": _intent(leg),
            }
            for leg in order.legs
        ],
    }


def _intent(leg: OrderLeg) -> str:
    side = "buy" if leg.ratio > 0 else "sell"
    return f"{side}_to_{'open' if leg.intent is Intent.OPEN else 'close'}"


def parse_order(data: dict[str, Any], request: OrderRequest | None = None) -> Order:
    legs = data.get("legs") or [data]
    qty = int_or_none(data.get("qty")) or 1
    signed = decimal_or_none(data.get("limit_price")) or Decimal(0)
    if request is None:
        request = _request_from(data, legs, qty, signed)
    order_id = str(require(data, "id", broker=NAME))
    fills = []
    for leg in legs:
        filled = int_or_none(leg.get("filled_qty")) or 0
        price = decimal_or_none(leg.get("filled_avg_price"))
        if filled and price is not None:
            sign = 1 if leg.get("side") == "buy" else -1
            fills.append(
                Fill(
                    order_id,
                    padded(leg["symbol"]),
                    sign * filled,
                    price,
                    timestamp(leg.get("filled_at") or leg.get("updated_at"))
                    or timestamp(data.get("updated_at"))
                    or datetime.now(UTC),  # no time on the wire: when we heard of it
                    fill_id=f"{leg.get('id', order_id)}:{filled}",
                )
            )
    filled_units = int_or_none(data.get("filled_qty")) or 0
    average = decimal_or_none(data.get("filled_avg_price"))
    if average is not None:
        average = abs(average)  # mleg averages carry the limit's sign; ours is in `effect`
    return Order(
        id=order_id,
        client_key=data.get("client_order_id") or "",
        status=_STATUS.get(str(data.get("status")), OrderStatus.WORKING),
        request=request,
        filled_quantity=filled_units,
        average_price=average,
        fills=tuple(fills),
        updated=timestamp(data.get("updated_at")),
        replaced_by=data.get("replaced_by"),
    )


def _request_from(
    data: dict[str, Any], legs: list[dict], qty: int, signed: Decimal
) -> OrderRequest:
    multi = data.get("order_class") == "mleg"
    parsed = tuple(
        OrderLeg(
            padded(leg["symbol"]),
            (1 if leg.get("side") == "buy" else -1)
            * ((int_or_none(leg.get("ratio_qty")) or 1) if multi else 1),
            Intent.CLOSE if str(leg.get("position_intent", "")).endswith("close") else Intent.OPEN,
        )
        for leg in legs
    )
    if multi:
        effect = PriceEffect.DEBIT if signed > 0 else PriceEffect.CREDIT
    else:
        effect = PriceEffect.DEBIT if parsed[0].ratio > 0 else PriceEffect.CREDIT
    return OrderRequest(
        legs=parsed,
        quantity=qty,
        limit_price=abs(signed),
        effect=effect,
        client_key=data.get("client_order_id") or "",
        time_in_force=TimeInForce(data.get("time_in_force", "day"))
        if data.get("time_in_force") in {"gtc", "ioc"}
        else TimeInForce.DAY,
    )


def _chain_entry(c: dict[str, Any], snap: dict[str, Any] | None, underlying: str) -> ChainEntry:
    symbol = padded(c["symbol"])
    parsed = parse_occ(symbol)
    return ChainEntry(
        symbol=symbol,
        underlying=c.get("underlying_symbol") or underlying,
        contract=OptionContract(
            root=c.get("root_symbol") or parsed.root,
            expiry=date.fromisoformat(c["expiration_date"]),
            right="C" if c.get("type") == "call" else "P",
            strike=decimal_or_none(c.get("strike_price")) or parsed.strike,
        ),
        multiplier=int_or_none(c.get("size")) or 100,
        style=c.get("style"),
        quote=None if snap is None else _snapshot_quote(symbol, snap),
    )


def _position(item: dict[str, Any]) -> Position:
    qty = int_or_none(item.get("qty")) or 0
    if item.get("side") == "short" and qty > 0:  # the sign is documented loosely: trust `side`
        qty = -qty
    symbol = padded(item["symbol"])
    option = item.get("asset_class") == "us_option"
    return Position(
        symbol=symbol,
        quantity=qty,
        average_price=decimal_or_none(item.get("avg_entry_price")),
        multiplier=100 if option else 1,
        underlying=parse_occ(symbol).root if option else symbol,
        mark=decimal_or_none(item.get("current_price")),
    )


def _quote(symbol: str, q: dict[str, Any]) -> Quote:
    return Quote(
        symbol=symbol,
        bid=decimal_or_none(q.get("bp")),
        ask=decimal_or_none(q.get("ap")),
        bid_size=int_or_none(q.get("bs")),
        ask_size=int_or_none(q.get("as")),
        time=timestamp(q.get("t")),
    )


def _snapshot_quote(symbol: str, snap: dict[str, Any]) -> Quote:
    q = snap.get("latestQuote") or {}
    sensitivities = snap.get("greeks") or {}
    trade = snap.get("latestTrade") or {}
    return replace(
        _quote(symbol, q),
        last=decimal_or_none(trade.get("p")),
        iv=iv_fraction(snap.get("impliedVolatility")),
        **greeks(sensitivities),
    )
