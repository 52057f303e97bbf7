"""How the paper account fills: a configurable policy, a slippage model and a fee schedule.

An order is marketable when its limit is at least as aggressive as
`mid - slippage * (mid - natural)` (in credit terms); it then fills at its limit, or at
natural when the limit is more aggressive than natural (a real exchange gives you at least
that). Each leg is priced between its mid and its natural by the same fraction, so the
legs always add up to the net fill. An order of one stock prints at a whole cent a share (the
cent worse for the taker when the market sits between two). Partial fills take no more than
the displayed size.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from brokers.futures import is_future_symbol, parse_future
from brokers.model import OrderLeg, Quote
from brokers.occ import is_index, is_option_symbol, underlying_of
from brokers.pricing import ComboMarket
from brokers.ticks import CENT


def is_share_order(legs: tuple[OrderLeg, ...]) -> bool:
    """One leg of a stock or ETF: no option, no future."""
    if len(legs) != 1:
        return False
    return not (is_option_symbol(legs[0].symbol) or is_future_symbol(legs[0].symbol))


@dataclass(frozen=True)
class FillPolicy:
    slippage: Decimal = Decimal("0.25")  # 0: fills at mid; 1: only at natural
    reprice: bool = True  # walk working orders toward natural
    step_ticks: int = 1
    step_every: timedelta = timedelta(seconds=30)
    partial_fills: bool = True  # cap each fill at the displayed size


@dataclass(frozen=True)
class FeeSchedule:
    per_contract: Decimal = Decimal("0.65")  # commission per option contract
    index_per_contract: Decimal = Decimal("0.60")  # exchange proprietary fee (SPX, NDX, ...)
    regulatory_per_contract: Decimal = Decimal("0.02")
    per_share: Decimal = Decimal("0")
    per_future: Decimal = Decimal("0.85")  # commission per futures contract (+ exchange fee)

    def for_symbol(self, symbol: str, units: int) -> Decimal:
        """Fees for `units` of a symbol: an option contract, a futures contract or a share."""
        future = parse_future(symbol)
        if future is not None:
            return abs(units) * (self.per_future + future.spec.exchange_fee)
        if not is_option_symbol(symbol):
            return self.per_share * abs(units)
        return self.for_leg(units, option=True, index=is_index(underlying_of(symbol)))

    def for_leg(self, contracts: int, *, option: bool, index: bool) -> Decimal:
        contracts = abs(contracts)
        if not option:
            return self.per_share * contracts
        per = self.per_contract + self.regulatory_per_contract
        return contracts * (per + (self.index_per_contract if index else 0))


def fill_credit(limit_credit: Decimal, market: ComboMarket, slippage: Decimal) -> Decimal | None:
    """The net fill in credit terms, or None while the order is not marketable."""
    threshold = market.mid - slippage * market.half_spread
    if limit_credit > threshold:
        return None
    return max(limit_credit, market.natural)


def leg_prices(
    legs: tuple[OrderLeg, ...],
    quotes: dict[str, Quote],
    market: ComboMarket,
    fill: Decimal,
) -> dict[str, Decimal]:
    """Per-leg prices that sum (by weight) to the net fill."""
    spread = market.half_spread
    fraction = Decimal(0) if spread == 0 else (market.mid - fill) / spread
    prices = {}
    for leg in legs:
        q = quotes[leg.symbol]
        assert q.mid is not None and q.bid is not None and q.ask is not None
        toward = q.ask - q.mid if leg.ratio > 0 else q.bid - q.mid
        prices[leg.symbol] = q.mid + fraction * toward
    futures = [parse_future(leg.symbol) for leg in legs]
    if len(legs) > 1 and all(futures):
        _on_ticks(legs, futures, prices)
    return prices


def _on_ticks(legs, futures, prices: dict[str, Decimal]) -> None:
    """A futures spread's legs trade on their ticks, as an exchange prints them: every leg
    but the last rounds to its tick and the last takes what keeps the net exact (on its tick
    too, the net being on the spread's tick)."""
    net = sum(leg.ratio * prices[leg.symbol] for leg in legs)
    for leg, contract in zip(legs[:-1], futures[:-1], strict=True):
        tick = contract.spec.tick
        prices[leg.symbol] = (prices[leg.symbol] / tick).to_integral_value() * tick
    last = legs[-1]
    rest = sum(leg.ratio * prices[leg.symbol] for leg in legs[:-1])
    prices[last.symbol] = (net - rest) / last.ratio


def on_whole_cents(
    leg: OrderLeg, fill: Decimal, limit: Decimal | None
) -> tuple[Decimal, Decimal]:
    """An order of one stock prints at a whole cent a share: the cent worse for the taker
    when the market sits between two, never past the limit (itself on a cent). Returns the
    net fill in credit terms and the price a share."""
    weight = Decimal(leg.ratio) / 100  # a share is 1/100 of a contract's unit
    buys = leg.ratio > 0
    price = (-fill / weight).quantize(CENT, rounding=ROUND_CEILING if buys else ROUND_FLOOR)
    if limit is not None:
        bound = -limit / weight
        price = min(price, bound) if buys else max(price, bound)
    return -weight * price, price


def fillable_units(
    legs: tuple[OrderLeg, ...], quotes: dict[str, Quote], remaining: int, policy: FillPolicy
) -> int:
    """How many units can fill now: the thinnest leg's displayed size, if sizes are known."""
    if not policy.partial_fills:
        return remaining
    units = remaining
    for leg in legs:
        q = quotes[leg.symbol]
        size = q.ask_size if leg.ratio > 0 else q.bid_size
        if size:  # unknown or zero size: the snapshot does not say, assume enough
            units = min(units, size // abs(leg.ratio))
    return max(units, 0)
