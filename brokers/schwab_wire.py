"""Schwab's JSON shapes (Trader API v1, see ../shared/brokers/schwab): orders to and from the
wire, chains, quotes and positions. No I/O here: the adapter (`brokers.schwab`) sends them."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx

from brokers.errors import (
    MalformedResponse,
    NotSupported,
)
from brokers.futures import is_future_symbol
from brokers.model import (
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
from brokers.occ import is_index, is_option_symbol, padded, parse_occ
from brokers.pricing import quoted_price, quoted_stop
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


def order_body(order: OrderRequest) -> dict[str, Any]:
    if any(is_future_symbol(leg.symbol) for leg in order.legs):
        raise NotSupported(
            "Schwab's order API takes stock and option orders, not futures: trade futures "
            "through tastytrade or the paper account",
            broker=NAME,
        )
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
    prices: dict[str, str] = {}
    if order.order_type is OrderType.LIMIT:
        prices["price"] = money(quoted_price(order))
    elif order.order_type is OrderType.STOP:
        prices["stopPrice"] = money(quoted_stop(order))
    net = "NET_CREDIT" if order.effect is PriceEffect.CREDIT else "NET_DEBIT"
    kind = net if multi else "LIMIT"
    return {
        "orderType": kind if order.order_type is OrderType.LIMIT else order.order_type.name,
        "session": "NORMAL",
        "duration": _DURATION[order.time_in_force],
        "orderStrategyType": "SINGLE",
        **({"complexOrderStrategyType": _complex_type(order)} if multi else {}),
        **prices,
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


def fingerprint(body: dict[str, Any]) -> tuple:
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


def id_from_location(response: httpx.Response) -> str:
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


_DURATION = {
    TimeInForce.DAY: "DAY",
    TimeInForce.GTC: "GOOD_TILL_CANCEL",
    TimeInForce.IOC: "IMMEDIATE_OR_CANCEL",
}
_FROM_DURATION = {text: tif for tif, text in _DURATION.items()}


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
        time_in_force=_FROM_DURATION.get(data.get("duration", "DAY"), TimeInForce.DAY),
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
        quote=quote_from(symbol, c, CHAIN_KEYS),
    )


# (bid, ask, last, quote time): the chain and the quotes endpoint name them differently
CHAIN_KEYS = ("bid", "ask", "last", "quoteTimeInLong")
QUOTE_KEYS = ("bidPrice", "askPrice", "lastPrice", "quoteTime")


def quote_from(symbol: str, data: dict[str, Any], keys: tuple[str, str, str, str]) -> Quote:
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


def position_from(p: dict[str, Any]) -> Position:
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


def preview_fees(data: dict[str, Any]) -> Decimal | None:
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


def wire_symbol(symbol: str) -> str:
    return f"${symbol}" if is_index(symbol) and not symbol.startswith("$") else symbol


def projected_buying_power(body: dict[str, Any]) -> Decimal | None:
    balance = (body.get("orderStrategy") or {}).get("orderBalance") or {}
    return decimal_or_none(balance.get("projectedBuyingPower"))


def preview_from(body: dict[str, Any], buying_power: Decimal | None) -> Preview:
    """A previewOrder answer: a 200 with `rejects` is a rejection; the buying-power effect is
    the account's option buying power less the projected one."""
    result = body.get("orderValidationResult") or {}
    rejects = tuple(r.get("message", "") for r in result.get("rejects") or [])
    projected = projected_buying_power(body)
    effect = None if projected is None or buying_power is None else buying_power - projected
    return Preview(
        accepted=not rejects,
        buying_power_effect=effect,
        fees=preview_fees(body.get("commissionAndFee") or {}),
        warnings=tuple(w.get("message", "") for w in result.get("warns") or []),
        errors=rejects,
        source=NAME,
    )
