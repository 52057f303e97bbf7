"""Expiry settlement: one rule for the paper account and the engine's journal.

An option expiring on day D settles, once D's 16:00 close has passed, at its intrinsic value
against the underlying's *settlement price*: the last price seen on D (a replay's 15:45
snapshot of D, an end-of-day file's close, a live feed's last print), or, when D was never
seen (a weekend expiry such as old SPX Saturday symbols, a gap in the data), the last price
seen before D. Prices seen after D never count: settling Friday's options at Monday's price
is how a journal and an account drift apart.

The paper broker and the engine both keep a `SpotHistory` fed with the same snapshots and
both value with `intrinsic`, so an expired position is booked in the journal at exactly the
cash (or shares) the account received.
"""

from __future__ import annotations

from bisect import bisect_right
from datetime import date, datetime, time
from decimal import Decimal
from typing import TypeVar
from zoneinfo import ZoneInfo

NEW_YORK = ZoneInfo("America/New_York")
SETTLEMENT_TIME = time(16, 0)

Number = TypeVar("Number", float, Decimal)


def intrinsic(right: str, strike: Number, spot: Number) -> Number:
    """Value at expiry per unit of one option: `right` is 'C'/'call' or 'P'/'put'."""
    zero = strike * 0
    if right[0].upper() == "C":
        return max(spot - strike, zero)
    return max(strike - spot, zero)


def settles(expiry: date, now: datetime) -> bool:
    """True once an option expiring on `expiry` has settled (16:00 New York that day)."""
    local = now.astimezone(NEW_YORK)
    return expiry < local.date() or (expiry == local.date() and local.time() >= SETTLEMENT_TIME)


class SpotHistory:
    """The last underlying price seen each day, per underlying."""

    def __init__(self, days: dict[str, dict[date, str]] | None = None) -> None:
        self._days: dict[str, dict[date, str]] = days or {}

    def see(self, underlying: str, price: Decimal | float, at: datetime) -> None:
        day = at.astimezone(NEW_YORK).date()
        self._days.setdefault(underlying, {})[day] = str(price)

    def settlement_price(self, underlying: str, expiry: date) -> Decimal | None:
        """The price an option expiring on `expiry` settles against (None: never seen)."""
        days = self._days.get(underlying)
        if not days:
            return None
        if expiry in days:
            return Decimal(days[expiry])
        ordered = sorted(days)
        i = bisect_right(ordered, expiry)
        return Decimal(days[ordered[i - 1]]) if i else None

    def to_json(self) -> dict[str, dict[str, str]]:
        return {u: {d.isoformat(): p for d, p in sorted(v.items())} for u, v in self._days.items()}

    @classmethod
    def from_json(cls, data: dict[str, dict[str, str]]) -> SpotHistory:
        return cls({u: {date.fromisoformat(d): p for d, p in v.items()} for u, v in data.items()})
