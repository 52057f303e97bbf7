"""Shares a strategy owns because an option was assigned or exercised at expiry.

An expired equity option in the money delivers shares (a short put assigned: +100 a
contract at the strike; a short call assigned: -100; long options exercised the other way).
The option position closes at its intrinsic value (`PositionBook.settle_expired`); the
delivery then either *nets* against shares the strategy's holdings group already owns (a
covered call called away sells them) or opens a *holding*: a position of the assigned
strategy with one stock leg, entered at the settlement price, so the option's P&L plus the
shares' P&L equals what the broker's cash and share position say. A holding remembers the
strike paid (`avg_cost`) and the day (`assigned_at`) for the wheel's next step.

A holdings group is a strategy plus the strategies its `holdings: strategies:` names: the
covered-call step of a wheel reads, covers and delivers the shares its put step was assigned.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from brokers.occ import is_index
from brokers.settlement import intrinsic
from rulesengine.data.chain import to_seconds
from rulesengine.engine.journal import stable_id
from rulesengine.engine.positions import MULTIPLIER, Position, PositionLeg, Status
from rulesengine.runtime.view import PerUnderlying

SHARES_PER_CONTRACT = 100
HOLDING_LEG = "assigned"


@dataclass(frozen=True)
class Delivery:
    """Shares one expired option leg brings into (+) or takes out of (-) the account."""

    symbol: str  # the underlying
    shares: int
    strike: float
    spot: float  # the settlement price
    assigned: bool  # a sold option assigned (False: a bought one exercised)
    kind: str  # put | call

    def describe(self) -> str:
        what = "assigned" if self.assigned else "exercised"
        return (
            f"{self.symbol} {self.strike:g} {self.kind} {what}: {self.shares:+d} shares at "
            f"{self.strike:g} (settlement {self.spot:g})"
        )


def deliveries(
    p: Position, settlement: Callable[[str, date], Decimal | float | None]
) -> list[Delivery]:
    """The share deliveries an expired position's in-the-money equity options bring (index
    options settle in cash)."""
    found = []
    for leg in p.legs:
        if leg.kind not in {"put", "call"} or is_index(p.underlying or ""):
            continue
        spot = settlement(p.underlying, date.fromisoformat(leg.expiry))
        if spot is None or intrinsic(leg.kind, leg.strike, float(spot)) < 0.01:
            continue
        units = leg.ratio * p.quantity * SHARES_PER_CONTRACT
        shares = units if leg.kind == "call" else -units
        assigned = leg.ratio < 0
        found.append(Delivery(p.underlying, shares, leg.strike, float(spot), assigned, leg.kind))
    return found


def deliver(
    positions: dict[str, Position],
    source: Position,
    delivery: Delivery,
    group: Iterable[str],
    now: datetime,
) -> list[Position]:
    """Book one delivery: net it against the group's opposite holdings on the symbol (oldest
    first, sold or bought back at the settlement price), then hold what is left as a new
    holding of the assigned strategy. Returns the positions changed or added."""
    owners = set(group)
    remaining = delivery.shares
    changed = []
    for h in sorted(_held(positions.values(), owners, delivery.symbol), key=lambda h: h.opened_at):
        lots = h.legs[0].ratio * h.quantity // SHARES_PER_CONTRACT  # signed
        if remaining == 0 or (lots > 0) == (remaining > 0):
            continue
        take = min(abs(lots), abs(remaining) // SHARES_PER_CONTRACT)
        booked = (h.entry_price + _sign(lots) * delivery.spot) * MULTIPLIER * take
        reason = "called away" if delivery.kind == "call" and delivery.assigned else "delivered"
        h.delivered(take, round(booked, 2), now, f"{reason} at {delivery.strike:g}")
        remaining += _sign(lots) * take * SHARES_PER_CONTRACT
        changed.append(h)
    if remaining:
        changed.append(_holding(source, delivery, remaining, now))
    return changed


def _held(positions: Iterable[Position], owners: set[str], symbol: str) -> list[Position]:
    return [
        p
        for p in positions
        if p.is_holding and p.status is Status.OPEN and p.strategy in owners
        and p.underlying == symbol
    ]


def _holding(source: Position, delivery: Delivery, shares: int, now: datetime) -> Position:
    lots = abs(shares) // SHARES_PER_CONTRACT
    side = _sign(shares)
    spot = delivery.spot
    return Position(
        id="h-" + stable_id(source.id, delivery.symbol, delivery.strike, delivery.kind)[:8],
        strategy=source.strategy,
        version=source.version,
        underlying=delivery.symbol,
        legs=[PositionLeg(HOLDING_LEG, delivery.symbol, side * SHARES_PER_CONTRACT, "stock")],
        opened_at=now,
        entry_key="",
        quantity=lots,
        ordered=lots,
        entry_price=-side * spot,  # per share, credit terms: bought at the settlement price
        max_loss=spot * SHARES_PER_CONTRACT,  # a long lot can lose its whole value
        status=Status.OPEN,
        parent_id=source.id,
        root_id=source.root_id or source.id,
        detail={
            "holding": True,
            "avg_cost": delivery.strike,
            "assigned_at": now.date().isoformat(),
            "entry_underlying_price": spot,
            "delivered_by": delivery.describe(),
        },
    )


def _sign(value: float) -> int:
    return 1 if value > 0 else -1


@dataclass(frozen=True)
class HoldingFields:
    """Per underlying, what a holdings group owns: the rule names `shares_held`,
    `uncovered_shares`, `avg_cost` and `assigned_at`."""

    shares: dict[str, float]
    uncovered: dict[str, float]
    avg_cost: dict[str, float]
    assigned_at: dict[str, float]


def holding_fields(positions: Iterable[Position], group: Iterable[str]) -> HoldingFields:
    owners = set(group)
    shares: dict[str, float] = {}
    paid: dict[str, float] = {}
    first: dict[str, float] = {}
    calls_sold: dict[str, float] = {}
    for p in positions:
        if p.strategy not in owners or not (p.is_open or p.status is Status.OPENING):
            continue
        if p.is_holding and p.status is Status.OPEN:
            held = float(p.legs[0].ratio * p.quantity)
            shares[p.underlying] = shares.get(p.underlying, 0.0) + held
            paid[p.underlying] = paid.get(p.underlying, 0.0) + held * p.detail["avg_cost"]
            day = to_seconds(date.fromisoformat(p.detail["assigned_at"]))
            first[p.underlying] = min(first.get(p.underlying, math.inf), day)
            continue
        units = p.quantity if p.is_open else p.ordered  # an entry working covers too
        sold = short_call_shares(p.legs, units)
        if sold > 0:
            calls_sold[p.underlying] = calls_sold.get(p.underlying, 0.0) + sold
    uncovered = {s: max(n - calls_sold.get(s, 0.0), 0.0) for s, n in shares.items() if n > 0}
    avg = {s: paid[s] / n for s, n in shares.items() if n}
    return HoldingFields(shares, uncovered, avg, first)


def holding_scalars(positions: Iterable[Position], group: Iterable[str]) -> dict[str, float]:
    """The holdings names as per-underlying scalars of a strategy's scope."""
    found = holding_fields(positions, group)
    return {
        "shares_held": PerUnderlying(found.shares, 0.0),
        "uncovered_shares": PerUnderlying(found.uncovered, 0.0),
        "avg_cost": PerUnderlying(found.avg_cost, math.nan),
        "assigned_at": PerUnderlying(found.assigned_at, math.nan),
    }


def account_shares(positions: Iterable[Position]) -> dict[str, float]:
    """Shares the account holds per underlying, whichever strategy's holdings they are."""
    shares: dict[str, float] = {}
    for p in positions:
        if p.is_holding and p.status is Status.OPEN:
            held = float(p.legs[0].ratio * p.quantity)
            shares[p.underlying] = shares.get(p.underlying, 0.0) + held
    return shares


def take_cover(legs: Iterable[PositionLeg], underlying: str, units: int, free: dict) -> bool:
    """Whether shares in `free` cover a calls-only structure's net short calls (`units` of
    it), taking them from `free` when they do. Covered, its upside is paid by the shares and
    it cannot lose more than it was paid: the unbounded max loss of a short call is not risk
    the account carries."""
    legs = list(legs)
    if not legs or any(leg.kind != "call" for leg in legs):
        return False
    needed = short_call_shares(legs, units)
    if needed <= 0 or free.get(underlying, 0.0) < needed:
        return False
    free[underlying] -= needed
    return True


def short_call_shares(legs: Iterable[PositionLeg], units: int) -> float:
    """Shares `units` of a structure's calls need to be covered: its net short calls (a call
    bought against one sold covers it), 100 a contract; 0 when it is not net short."""
    net = -sum(leg.ratio for leg in legs if leg.kind == "call")
    return float(max(net, 0) * units * SHARES_PER_CONTRACT)
