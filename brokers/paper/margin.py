"""Paper-account requirement: the worst loss at expiry of what the account holds.

Per underlying, option payoffs at expiry are piecewise linear with kinks at the strikes, so
the worst case is at 0, at a strike, or unbounded above (net short calls). Long shares cover
short calls one-for-100 (a covered call needs no extra money); anything else that loses
without bound (a naked call, short stock) has no requirement: it is refused.
Different expiries are valued at intrinsic, which is conservative for calendars.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from decimal import Decimal

from brokers.occ import is_option_symbol, parse_occ, underlying_of

UNBOUNDED = None


def requirement(holdings: Mapping[str, int], multipliers: Mapping[str, int]) -> Decimal | None:
    """Money that must stay aside for the holdings; None when the risk is unbounded."""
    options: dict[str, list[tuple[str, Decimal, int]]] = defaultdict(list)
    shares: dict[str, int] = defaultdict(int)
    for symbol, qty in holdings.items():
        if not qty:
            continue
        if is_option_symbol(symbol):
            c = parse_occ(symbol)
            units = qty * multipliers.get(symbol, 100)
            options[underlying_of(symbol)].append((c.right, c.strike, units))
        else:
            shares[symbol] += qty
    if any(q < 0 for q in shares.values()):
        return UNBOUNDED
    total = Decimal(0)
    for underlying, legs in options.items():
        need = _worst_loss(legs, shares.get(underlying, 0))
        if need is UNBOUNDED:
            return UNBOUNDED
        total += need
    return total


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
