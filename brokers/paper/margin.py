"""Paper-account requirement: the money that must stay aside for what the account holds.

Cash accounts: the worst loss at expiry. Per underlying, option payoffs at expiry are
piecewise linear with kinks at the strikes, so the worst case is at 0, at a strike, or
unbounded above (net short calls). Long shares cover short calls one-for-100 (a covered call
needs no extra money); anything else that loses without bound (a naked call, short stock) has
no requirement: it is refused. Different expiries are valued at intrinsic, which is
conservative for calendars.

Margin accounts: the lesser of that worst loss and the Reg-T / CBOE strategy-based
requirement for uncovered short options, per underlying (so a spread still needs its width, a
naked option far less than its strike):

    short put   max(P% x S - out-of-the-money amount, 10% x K) + premium
    short call  max(P% x S - out-of-the-money amount, 10% x S) + premium
    strangle    the greater side's requirement + the other side's premium

per share, times the units; P% is 15% for broad-based indexes (SPX, NDX, RUT...) and 20%
otherwise; the premium is the option's current mark (its intrinsic value without one). Long
options earn no credit (conservative). A naked call is no longer unbounded in a margin
account: it needs its Reg-T requirement.

Stock in a margin account follows Reg-T's initial 50%: a purchase may borrow half its value
(`loan_value`), and a short sale needs 150% of the value set aside, its proceeds included;
a cash account pays for shares in full and never sells short.

Futures trade in margin accounts only and need their initial margin per contract (the table
in brokers.futures); their value counts beside the cash (`margin_credit`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from brokers.futures import is_future_symbol, parse_future
from brokers.occ import is_index, is_option_symbol, parse_occ, underlying_of

UNBOUNDED = None
INDEX_RATE = Decimal("0.15")
EQUITY_RATE = Decimal("0.20")
MINIMUM_RATE = Decimal("0.10")
SHORT_STOCK_RATE = Decimal("1.5")  # Reg-T initial: the proceeds plus 50% of the value
LONG_STOCK_LOAN = Decimal("0.5")  # Reg-T initial: half of a long stock purchase is lent


@dataclass(frozen=True)
class Market:
    """What a margin requirement reads: underlying prices and option marks (per share)."""

    underlying: Callable[[str], Decimal | None]
    mark: Callable[[str], Decimal | None]


def requirement(
    holdings: Mapping[str, int],
    multipliers: Mapping[str, int],
    market: Market | None = None,
) -> Decimal | None:
    """Money that must stay aside for the holdings; None when the risk is unbounded. With a
    `market` (a margin account), uncovered short options need their Reg-T requirement."""
    options: dict[str, list[tuple[str, Decimal, int]]] = defaultdict(list)
    symbols: dict[str, list[str]] = defaultdict(list)
    shares: dict[str, int] = defaultdict(int)
    futures: dict[str, int] = {}
    for symbol, qty in holdings.items():
        if not qty:
            continue
        if is_future_symbol(symbol):
            futures[symbol] = qty
        elif is_option_symbol(symbol):
            c = parse_occ(symbol)
            units = qty * multipliers.get(symbol, 100)
            options[underlying_of(symbol)].append((c.right, c.strike, units))
            symbols[underlying_of(symbol)].append(symbol)
        else:
            shares[symbol] += qty
    total = Decimal(0)
    if futures and market is None:  # futures trade in margin accounts only
        return UNBOUNDED
    for symbol, qty in futures.items():
        contract = parse_future(symbol)
        assert contract is not None, "is_future_symbol said so"
        total += contract.spec.initial_margin * abs(qty)
    for symbol, qty in shares.items():
        if qty >= 0:
            continue
        price = market.underlying(symbol) if market is not None else None
        if price is None:  # a cash account (or no price): short stock is refused
            return UNBOUNDED
        total += SHORT_STOCK_RATE * price * -qty
    for underlying, legs in options.items():
        need = _worst_loss(legs, max(shares.get(underlying, 0), 0))
        if market is not None:
            regt = reg_t(underlying, legs, symbols[underlying], market)
            if regt is not None:
                need = regt if need is UNBOUNDED else min(need, regt)
        if need is UNBOUNDED:
            return UNBOUNDED
        total += need
    return total


def reg_t(
    underlying: str, legs: list[tuple[str, Decimal, int]], symbols: list[str], market: Market
) -> Decimal | None:
    """The strategy-based requirement of the short options (see the module); None without
    the underlying's price."""
    price = market.underlying(underlying)
    if price is None:
        return None
    rate = INDEX_RATE if is_index(underlying) else EQUITY_RATE
    sides = {"P": Decimal(0), "C": Decimal(0)}
    premiums = {"P": Decimal(0), "C": Decimal(0)}
    for (right, strike, units), symbol in zip(legs, symbols, strict=True):
        if units >= 0:
            continue
        zero = Decimal(0)
        out_of_money = max(price - strike, zero) if right == "P" else max(strike - price, zero)
        floor = MINIMUM_RATE * (strike if right == "P" else price)
        intrinsic = max(strike - price, zero) if right == "P" else max(price - strike, zero)
        mark = market.mark(symbol)
        premium = mark if mark is not None else intrinsic
        sides[right] += (max(rate * price - out_of_money, floor) + premium) * -units
        premiums[right] += premium * -units
    if sides["P"] and sides["C"]:  # a strangle or straddle: the greater side + the other's premium
        if sides["P"] >= sides["C"]:
            return sides["P"] + premiums["C"]
        return sides["C"] + premiums["P"]
    return sides["P"] + sides["C"]


def _worst_loss(legs: list[tuple[str, Decimal, int]], shares: int) -> Decimal | None:
    call_units = sum(units for right, _, units in legs if right == "C")
    covered = min(shares, max(-call_units, 0))
    if call_units + covered < 0:
        return UNBOUNDED
    # Covering shares act as calls struck at 0: they pay S and lose nothing below it.
    legs = [*legs, ("C", Decimal(0), covered)] if covered else legs
    grid = {Decimal(0)} | {strike for _, strike, _ in legs}
    worst = min(_payoff(legs, price) for price in grid)
    return max(Decimal(0), -worst)


def _payoff(legs: list[tuple[str, Decimal, int]], price: Decimal) -> Decimal:
    value = Decimal(0)
    for right, strike, units in legs:
        intrinsic = price - strike if right == "C" else strike - price
        value += units * max(intrinsic, Decimal(0))
    return value


def margin_credit(
    holdings: Mapping[str, int], multipliers: Mapping[str, int], market: Market | None
) -> Decimal:
    """What a margin account counts beside its cash (0 for a cash account): half its long
    shares' value (Reg-T's loan), and its futures' value, since the paper ledger books a
    contract's notional in cash where a broker books only the daily variation."""
    if market is None:
        return Decimal(0)
    total = Decimal(0)
    for symbol, qty in holdings.items():
        if is_future_symbol(symbol):
            mark = market.mark(symbol)
            if mark is not None:
                total += qty * mark * multipliers.get(symbol, 1)
        elif qty > 0 and not is_option_symbol(symbol):
            price = market.underlying(symbol)
            if price is not None:
                total += LONG_STOCK_LOAN * price * qty
    return total
