"""Equity index futures: the contracts, their multipliers, ticks and initial margins.

A contract is named `/<root><month code><two-digit year>`: `/MESZ18` is the December 2018
Micro E-mini S&P 500. The quarterly equity index contracts (March, June, September,
December) expire on the third Friday of their month and settle in cash; the front month is
the first contract whose roll date (ROLL_DAYS calendar days before expiry, the second
Thursday before it as CME's volume moves) is still ahead. Initial margins are per contract
and approximate the CME's published levels (a broker may ask more): the table is the place to
change them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

MONTH_CODES = "FGHJKMNQUVXZ"  # January .. December
ROLL_DAYS = 8


@dataclass(frozen=True)
class FutureSpec:
    root: str  # /ES
    name: str
    multiplier: int  # dollars per point
    tick: Decimal  # points
    initial_margin: Decimal  # dollars per contract
    months: str = "HMUZ"  # listed contract months
    index: str = ""  # the cash index it follows
    exchange_fee: Decimal = Decimal("1.38")  # exchange + NFA fees per contract, each side

    @property
    def tick_value(self) -> Decimal:
        return self.tick * self.multiplier


_QUARTER = Decimal("0.25")
_TENTH = Decimal("0.10")
_MICRO = Decimal("0.37")  # a micro contract's exchange + NFA fees
FUTURES: dict[str, FutureSpec] = {
    spec.root: spec
    for spec in (
        FutureSpec("/ES", "E-mini S&P 500", 50, _QUARTER, Decimal(12_650), index="SPX"),
        FutureSpec("/MES", "Micro E-mini S&P 500", 5, _QUARTER, Decimal(1_265), index="SPX",
                   exchange_fee=_MICRO),
        FutureSpec("/NQ", "E-mini Nasdaq-100", 20, _QUARTER, Decimal(18_700), index="NDX"),
        FutureSpec("/MNQ", "Micro E-mini Nasdaq-100", 2, _QUARTER, Decimal(1_870), index="NDX",
                   exchange_fee=_MICRO),
        FutureSpec("/RTY", "E-mini Russell 2000", 50, _TENTH, Decimal(7_150), index="RUT"),
        FutureSpec("/M2K", "Micro E-mini Russell 2000", 5, _TENTH, Decimal(715), index="RUT",
                   exchange_fee=_MICRO),
    )
}  # fmt: skip

_SYMBOL = re.compile(r"^(/[A-Z0-9]+?)([FGHJKMNQUVXZ])(\d{2})$")


@dataclass(frozen=True)
class FutureContract:
    spec: FutureSpec
    year: int
    month: int

    @property
    def symbol(self) -> str:
        return f"{self.spec.root}{MONTH_CODES[self.month - 1]}{self.year % 100:02d}"

    @property
    def expiry(self) -> date:
        return third_friday(self.year, self.month)

    @property
    def roll_date(self) -> date:
        return self.expiry - timedelta(days=ROLL_DAYS)


def third_friday(year: int, month: int) -> date:
    first = date(year, month, 1)
    return first + timedelta(days=(4 - first.weekday()) % 7 + 14)


def is_future_symbol(symbol: str) -> bool:
    return parse_future(symbol) is not None


def is_future_root(name: str) -> bool:
    return name in FUTURES


def parse_future(symbol: str) -> FutureContract | None:
    """The contract a symbol names (None: not a listed future of the table)."""
    found = _SYMBOL.match(symbol.strip())
    if found is None or found.group(1) not in FUTURES:
        return None
    root, code, year = found.groups()
    return FutureContract(FUTURES[root], 2000 + int(year), MONTH_CODES.index(code) + 1)


def root_of(symbol: str) -> str:
    contract = parse_future(symbol)
    return contract.spec.root if contract else symbol


def listed(root: str, day: date, count: int = 2) -> list[FutureContract]:
    """The first `count` contracts not yet expired on `day`, nearest first."""
    spec = FUTURES[root]
    found: list[FutureContract] = []
    year, month = day.year, day.month
    while len(found) < count:
        if MONTH_CODES[month - 1] in spec.months:
            contract = FutureContract(spec, year, month)
            if contract.expiry >= day:
                found.append(contract)
        month = month % 12 + 1
        year += month == 1
    return found


def front_month(root: str, day: date) -> FutureContract:
    """The contract traded on `day`: the nearest whose roll date has not passed."""
    for contract in listed(root, day, 3):
        if day < contract.roll_date:
            return contract
    raise AssertionError("three quarterly contracts always include one before its roll date")
