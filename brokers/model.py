"""The normalised types every adapter speaks: the engine never sees a broker's wire format.

Conventions (one per concept, enforced by the adapters):
- option symbols are padded OCC (`SPY   240419P00500000`), the form the bundled data uses;
- quantities are signed: positive long/buy, negative short/sell;
- money is `Decimal`; a limit price is positive and its `PriceEffect` says credit or debit;
- implied volatility is a fraction (0.15, never 15.0);
- a missing value is `None` (never -999, never the string "NaN");
- every timestamp is timezone-aware.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum


class PriceEffect(StrEnum):
    CREDIT = "credit"  # the account receives the price
    DEBIT = "debit"  # the account pays the price

    def signed(self, price: Decimal) -> Decimal:
        """Cash flow of the price: positive for a credit, negative for a debit."""
        return price if self is PriceEffect.CREDIT else -price


class Intent(StrEnum):
    OPEN = "open"
    CLOSE = "close"


class OrderStatus(StrEnum):
    WORKING = "working"  # accepted, resting at the broker
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELLED = "cancelled"
    REJECTED = "rejected"
    EXPIRED = "expired"
    REPLACED = "replaced"  # superseded by a replacement order

    @property
    def is_final(self) -> bool:
        return self not in (OrderStatus.WORKING, OrderStatus.PARTIALLY_FILLED)


class TimeInForce(StrEnum):
    DAY = "day"
    GTC = "gtc"
    IOC = "ioc"  # immediate or cancel: what does not fill at once is cancelled


class OrderType(StrEnum):
    LIMIT = "limit"
    MARKET = "market"  # fills at once at the other side's price (shares and futures)
    STOP = "stop"  # a market order once the market trades through `stop_price`


@dataclass(frozen=True, slots=True)
class Walk:
    """How a working limit order is repriced toward natural: `ticks` every `every_s`
    seconds, never past `stop` (a positive price in the order's own terms; None: natural).
    `ticks` 0: the order rests at its limit."""

    every_s: float = 30.0
    ticks: int = 1
    stop: Decimal | None = None


@dataclass(frozen=True, slots=True)
class OptionContract:
    """What an OCC symbol says: root, expiry, right and strike."""

    root: str
    expiry: date
    right: str  # "C" or "P"
    strike: Decimal

    @property
    def is_call(self) -> bool:
        return self.right == "C"


@dataclass(frozen=True, slots=True)
class OrderLeg:
    """One leg of an order: `ratio` is signed (+1 buy, -1 sell) per unit of the order."""

    symbol: str  # padded OCC, or a plain ticker for stock
    ratio: int
    intent: Intent = Intent.OPEN

    @property
    def is_option(self) -> bool:
        return len(self.symbol) == 21 and self.symbol[12] in "CP"


@dataclass(frozen=True, slots=True)
class OrderRequest:
    """A limit order for `quantity` units of the legs, at a net price per unit."""

    legs: tuple[OrderLeg, ...]
    quantity: int
    limit_price: Decimal  # positive, per unit, in option points (x multiplier for dollars)
    effect: PriceEffect
    client_key: str  # idempotency key; see brokers.idempotency
    time_in_force: TimeInForce = TimeInForce.DAY
    underlying: str = ""
    walk: Walk | None = None  # None: the broker's own working (the paper account's default)
    order_type: OrderType = OrderType.LIMIT
    stop_price: Decimal | None = None  # a stop order's trigger, per unit like the limit

    def __post_init__(self) -> None:
        if self.quantity <= 0:
            raise ValueError(f"order quantity must be positive, got {self.quantity}")
        if self.limit_price < 0:
            raise ValueError("limit price must be positive; say credit or debit with `effect`")
        if not self.legs:
            raise ValueError("an order needs at least one leg")

    def with_price(self, price: Decimal) -> OrderRequest:
        return replace(self, limit_price=price)


@dataclass(frozen=True, slots=True)
class Fill:
    order_id: str
    symbol: str
    quantity: int  # signed
    price: Decimal  # per share/contract unit, positive
    time: datetime
    fees: Decimal = Decimal(0)
    fill_id: str = ""


@dataclass(frozen=True, slots=True)
class Order:
    """An order as the broker holds it."""

    id: str
    client_key: str
    status: OrderStatus
    request: OrderRequest
    filled_quantity: int = 0
    average_price: Decimal | None = None  # net, per unit, positive (effect as requested)
    fills: tuple[Fill, ...] = ()
    reason: str = ""  # why it was rejected or cancelled, in the broker's words
    updated: datetime | None = None
    replaced_by: str | None = None


@dataclass(frozen=True, slots=True)
class Position:
    symbol: str  # padded OCC or a stock ticker
    quantity: int  # signed
    average_price: Decimal | None  # per unit, positive
    multiplier: int = 100
    underlying: str = ""
    mark: Decimal | None = None


@dataclass(frozen=True, slots=True)
class Account:
    account_id: str
    net_liquidation: Decimal
    buying_power: Decimal
    option_buying_power: Decimal
    cash: Decimal | None = None
    option_level: int | None = None
    warnings: tuple[str, ...] = ()  # e.g. an expiring refresh token


@dataclass(frozen=True, slots=True)
class Quote:
    symbol: str
    bid: Decimal | None = None
    ask: Decimal | None = None
    bid_size: int | None = None
    ask_size: int | None = None
    last: Decimal | None = None
    iv: float | None = None  # fraction
    delta: float | None = None
    gamma: float | None = None
    theta: float | None = None
    vega: float | None = None
    rho: float | None = None
    time: datetime | None = None

    @property
    def mid(self) -> Decimal | None:
        if self.bid is None or self.ask is None:
            return None
        return (self.bid + self.ask) / 2

    @property
    def is_two_sided(self) -> bool:
        """A usable market: both sides present and not crossed (bid 0 is allowed)."""
        return self.bid is not None and self.ask is not None and 0 <= self.bid <= self.ask


@dataclass(frozen=True, slots=True)
class ChainEntry:
    """One listed option with what the broker says about it (quote may be absent)."""

    symbol: str
    underlying: str
    contract: OptionContract
    multiplier: int = 100
    settlement: str | None = None  # "AM" or "PM"
    style: str | None = None  # "american" or "european"
    streamer_symbol: str | None = None
    quote: Quote | None = None


@dataclass(frozen=True, slots=True)
class Preview:
    """What the broker says an order would do, before it is placed."""

    accepted: bool
    buying_power_effect: Decimal | None = None  # reduction of buying power, positive
    fees: Decimal | None = None
    warnings: tuple[str, ...] = ()
    errors: tuple[str, ...] = ()
    source: str = ""  # which broker answered (the paper account stands in for Alpaca)


@dataclass(frozen=True, slots=True)
class OrderEvent:
    """A change the engine should know about: a new status, or a fill."""

    order: Order
    fill: Fill | None = None
    time: datetime | None = None


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What an adapter can do, so the engine and `rules broker check` need not guess."""

    preview: bool = True
    replace: bool = True
    streaming_quotes: bool = False
    client_order_ids: bool = True
    sandbox: bool = True
    notes: tuple[str, ...] = ()
