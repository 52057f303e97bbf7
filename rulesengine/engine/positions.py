"""The engine's positions: a structure held under one strategy, with its lineage (rolls).

A position's status moves only through the transition methods below, each checked against
`TRANSITIONS`, so no code path can, say, reopen a closed position or close one twice:

    opening -> open | unfilled          entry filled (whole or part) / never filled
    open    -> closing | closed | flagged
    closing -> closed | open            exit filled / exit order ended unfilled (or part)
    flagged -> closed                   settled at expiry (still watched, never traded)
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

MULTIPLIER = 100.0  # dollars per point of a per-unit net price (see brokers.pricing.weight)


class Status(StrEnum):
    OPENING = "opening"  # the entry order is working
    OPEN = "open"
    CLOSING = "closing"  # an exit (or roll) order is working
    CLOSED = "closed"
    UNFILLED = "unfilled"  # the entry never filled: nothing was held
    FLAGGED = "flagged"  # changed at the broker or adopted: watched, not traded by rules


TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.OPENING: frozenset({Status.OPEN, Status.UNFILLED}),
    Status.OPEN: frozenset({Status.CLOSING, Status.CLOSED, Status.FLAGGED}),
    Status.CLOSING: frozenset({Status.CLOSED, Status.OPEN, Status.FLAGGED}),
    Status.FLAGGED: frozenset({Status.CLOSED}),
    Status.CLOSED: frozenset(),
    Status.UNFILLED: frozenset(),
}
HELD = frozenset({Status.OPEN, Status.CLOSING, Status.FLAGGED})


class LifecycleError(RuntimeError):
    """A status change the lifecycle does not allow: a bug, never a market event."""


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
    status: Status = Status.OPENING
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

    def __post_init__(self) -> None:
        self.status = Status(self.status)

    @property
    def is_open(self) -> bool:
        return self.status in HELD

    @property
    def is_holding(self) -> bool:
        """Shares an assignment or exercise delivered (see `engine.holdings`): held and
        marked like any position, but no exit or roll rule trades them."""
        return bool(self.detail.get("holding"))

    @property
    def marked_by_model(self) -> bool:
        """The last mark valued at least one leg from the model (no usable quote)."""
        return bool(self.detail.get("marked_by_model"))

    # ------------------------------------------------------------ lifecycle
    def _move(self, to: Status) -> None:
        if to is not self.status and to not in TRANSITIONS[self.status]:
            raise LifecycleError(f"{self.id}: {self.status} -> {to} is not a position transition")
        self.status = to

    def filled(self, units: int, price: float, fees: float, better: float, final: bool) -> None:
        """The entry order filled `units` structures at `price` (per share, credit terms);
        `better` is the price improvement on the planned credit, moving max profit and loss."""
        if units > 0:
            planned_profit = float(self.detail.get("planned_max_profit", 0.0))
            self.max_profit = planned_profit + better * MULTIPLIER
            self.max_loss = float(self.detail.get("planned_max_loss", 0.0)) - better * MULTIPLIER
            self.entry_price, self.quantity, self.fees = price, units, fees
        if units >= self.ordered and units > 0:
            self._move(Status.OPEN)
        elif final:
            self._move(Status.OPEN if units > 0 else Status.UNFILLED)

    def unfilled(self) -> None:
        self._move(Status.UNFILLED)

    def start_exit(self, key: str, reason: str) -> None:
        self._move(Status.CLOSING)
        self.exit_key, self.exit_reason = key, reason

    def exit_ended(self, units_closed: int, booked: float) -> None:
        """The exit order ended with `units_closed` of the position closed (booked P&L)."""
        if units_closed > 0:
            self.detail["realised_part"] = self.detail.get("realised_part", 0.0) + booked
            self.quantity -= units_closed
        self._move(Status.OPEN)
        self.exit_key = None

    def delivered(self, units: int, booked: float, at: datetime, reason: str) -> None:
        """`units` of a holding went out with an assignment (booked P&L): the rest stays."""
        self.detail["realised_part"] = self.detail.get("realised_part", 0.0) + booked
        if units < self.quantity:
            self.quantity -= units
            return
        self.close(at, round(self.detail["realised_part"] - self.fees, 2), reason)

    def close(self, at: datetime, realised: float, reason: str | None = None) -> None:
        self._move(Status.CLOSED)
        self.realised_pnl, self.closed_at = realised, at
        if reason is not None:
            self.exit_reason = reason

    def flag(self, why: str) -> None:
        self._move(Status.FLAGGED)
        self.detail["flagged"] = why

    @property
    def expiry(self) -> str:
        dates = [leg.expiry for leg in self.legs if leg.expiry]
        return min(dates) if dates else ""

    def holdings(self) -> dict[str, int]:
        """Signed units of each symbol this position holds at the broker."""
        return {leg.symbol: leg.ratio * self.quantity for leg in self.legs}

    def legs_json(self) -> list[dict]:
        # vars(), not asdict(): the legs hold only plain values, and this runs for every held
        # position on every mark (asdict's recursive deep copy was the monitor's biggest cost)
        return [dict(vars(leg)) for leg in self.legs]


def describe_legs(legs: Iterable[PositionLeg]) -> str:
    """`short P1200 / long P1195 2011-02-18`: a structure by its legs, for people to read
    (ids are hashes); one expiry at the end when the legs share it."""
    legs = list(legs)
    expiries = {leg.expiry for leg in legs if leg.kind in {"put", "call"}}
    shared = len(expiries) == 1
    parts = []
    for leg in legs:
        if leg.kind == "stock":
            parts.append(f"{leg.name} {leg.ratio:+d} shares")
            continue
        if leg.kind == "future":
            parts.append(f"{leg.name} {leg.ratio:+d} {leg.symbol}")
            continue
        count = f"{abs(leg.ratio)}x" if abs(leg.ratio) != 1 else ""
        text = f"{leg.name} {count}{leg.kind[0].upper()}{leg.strike:g}"
        parts.append(text if shared else f"{text} {leg.expiry}")
    return " / ".join(parts) + (f" {expiries.pop()}" if shared else "")
