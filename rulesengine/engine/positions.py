"""The engine's positions: a structure held under one strategy, with its lineage (rolls)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class PositionLeg:
    name: str  # the leg's name in the strategy: short, long_put...
    symbol: str  # padded OCC, or the ticker of a stock leg
    ratio: int  # signed units per structure: -1 sold, +1 bought, +100 shares
    kind: str  # put | call | stock
    strike: float = 0.0
    expiry: str = ""  # ISO date, '' for stock


@dataclass
class Position:
    """One structure position. Prices are per share in credit terms (+ received, - paid)."""

    id: str
    strategy: str
    version: str  # the rule version that opened it
    underlying: str
    legs: list[PositionLeg]
    opened_at: datetime
    entry_key: str
    quantity: int = 0  # structures filled
    ordered: int = 0  # structures the entry order asked for
    entry_price: float = 0.0  # net credit per share at the fill (negative: a debit)
    max_profit: float = 0.0  # $ per structure
    max_loss: float = 0.0  # $ per structure, positive
    status: str = "opening"  # opening | open | closing | closed | unfilled | flagged
    high_water_pnl: float = 0.0
    parent_id: str | None = None  # the position this one rolled from
    root_id: str | None = None  # the first position of the roll chain
    roll_number: int = 0  # 0: an entry; N: the Nth roll of root_id
    exit_key: str | None = None
    exit_reason: str | None = None
    closed_at: datetime | None = None
    realised_pnl: float | None = None
    fees: float = 0.0
    last_mark: float | None = None  # $ value to close at the last monitor, for expiry
    detail: dict = field(default_factory=dict)

    @property
    def is_open(self) -> bool:
        return self.status in {"open", "closing", "flagged"}

    @property
    def expiry(self) -> str:
        dates = [leg.expiry for leg in self.legs if leg.expiry]
        return min(dates) if dates else ""

    def holdings(self) -> dict[str, int]:
        """Signed units of each symbol this position holds at the broker."""
        return {leg.symbol: leg.ratio * self.quantity for leg in self.legs}

    def legs_json(self) -> list[dict]:
        return [asdict(leg) for leg in self.legs]


def describe_legs(legs: Iterable[PositionLeg]) -> str:
    """`short P1200 / long P1195 2011-02-18`: a structure by its legs, for people to read
    (ids are hashes); one expiry at the end when the legs share it."""
    legs = list(legs)
    expiries = {leg.expiry for leg in legs if leg.kind != "stock"}
    shared = len(expiries) == 1
    parts = []
    for leg in legs:
        if leg.kind == "stock":
            parts.append(f"{leg.name} {leg.ratio:+d} shares")
            continue
        count = f"{abs(leg.ratio)}x" if abs(leg.ratio) != 1 else ""
        text = f"{leg.name} {count}{leg.kind[0].upper()}{leg.strike:g}"
        parts.append(text if shared else f"{text} {leg.expiry}")
    return " / ".join(parts) + (f" {expiries.pop()}" if shared else "")
