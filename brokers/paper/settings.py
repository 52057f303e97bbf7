"""The paper account's settings: starting cash, option approval level, account type.

Levels follow the usual broker tiers (each includes the ones below):

| level | opening trades allowed |
|---|---|
| 1 | covered calls (short calls covered by held shares) and cash-secured puts |
| 2 | + long calls and puts |
| 3 | + spreads: verticals, condors, butterflies, calendars (default) |
| 4 | + uncovered short options, in a `margin` account only |

Closing trades are always allowed. The requirement is the worst loss at expiry
(brokers.paper.margin); a margin account's uncovered short options need their Reg-T
requirement, so naked calls trade at level 4.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from brokers.model import Intent, OrderRequest
from brokers.occ import is_option_symbol, parse_occ, underlying_of

LEVELS = {
    1: "covered calls and cash-secured puts",
    2: "long calls and puts",
    3: "spreads (every sold option paired with a bought one)",
    4: "uncovered short options (margin account)",
}
MARGIN_TYPES = ("cash", "margin")


class SettingsError(ValueError):
    """Settings that cannot describe an account; the message says which and why."""


@dataclass(frozen=True)
class AccountSettings:
    cash: Decimal = Decimal(100_000)
    option_level: int = 3
    margin: str = "cash"

    def __post_init__(self) -> None:
        object.__setattr__(self, "cash", Decimal(str(self.cash)).quantize(Decimal("0.01")))
        if not (self.cash > 0):
            raise SettingsError(f"starting cash must be positive, not {self.cash}")
        if self.option_level not in LEVELS:
            raise SettingsError(f"option level {self.option_level}: choose 1, 2, 3 or 4")
        if self.margin not in MARGIN_TYPES:
            raise SettingsError(f"account type {self.margin!r}: choose cash or margin")
        if self.option_level == 4 and self.margin != "margin":
            raise SettingsError("option level 4 (uncovered options) needs a margin account")

    def to_json(self) -> dict[str, Any]:
        return {"cash": str(self.cash), "option_level": self.option_level, "margin": self.margin}

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> AccountSettings:
        if not data:
            return cls()
        return cls(Decimal(str(data["cash"])), int(data["option_level"]), str(data["margin"]))

    def describe(self) -> str:
        return f"${self.cash:,.0f} {self.margin} account, option level {self.option_level}"


def level_needed(order: OrderRequest, held: Mapping[str, int]) -> int:
    """The lowest level allowing the account the order leaves behind, on the underlyings the
    order opens something in (0: it only closes). Judged on the account, not the order: the
    engine nets legs against holdings, so a spread's bought leg may close another position's
    short and still leave every short covered."""
    opening = [leg for leg in order.legs if leg.intent is not Intent.CLOSE]
    if not any(is_option_symbol(leg.symbol) for leg in opening):
        return 0
    after = dict(held)
    for leg in order.legs:
        after[leg.symbol] = after.get(leg.symbol, 0) + leg.ratio * order.quantity
    buys = any(leg.ratio > 0 for leg in opening if is_option_symbol(leg.symbol))
    needed = 0
    for underlying in {underlying_of(leg.symbol) for leg in opening}:
        needed = max(needed, _level_of(after, underlying, buys))
    return needed


def _level_of(after: Mapping[str, int], underlying: str, buys: bool) -> int:
    units = {"PS": 0, "PL": 0, "CS": 0, "CL": 0}
    for symbol, qty in after.items():
        if qty and is_option_symbol(symbol) and underlying_of(symbol) == underlying:
            right = parse_occ(symbol).right
            units[right + ("S" if qty < 0 else "L")] += abs(qty)
    covering = max(after.get(underlying, 0), 0) // 100
    if units["CS"] > units["CL"] + covering:
        return 4
    if (units["CS"] and units["CL"]) or (units["PS"] and units["PL"]):
        return 3
    if buys:
        return 2
    return 1


def level_problem(
    order: OrderRequest, settings: AccountSettings, held: Mapping[str, int]
) -> str | None:
    needed = level_needed(order, held)
    if needed <= settings.option_level:
        return None
    return (
        f"option level {settings.option_level} does not allow {LEVELS[needed]} (level "
        f"{needed}); the paper account is a {settings.describe()}"
    )
