"""Limits, checked for a sized candidate before any order, on the scope of the file that sets
them: a strategy file's limits count that strategy's positions, P&L and capital; a portfolio
file's count the whole account.

What a scope holds is its `Exposure`: positions held *and* entries the broker may still fill
(decided earlier in this tick, or working), so two strategies entering on the same tick, or a
strategy entering twice before its first order fills, can never pass a limit together.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

from rulesengine.engine.clock import NEW_YORK
from rulesengine.engine.positions import Position, Status


@dataclass(frozen=True)
class Proposal:
    """What a new trade would add: all totals for the whole order, in dollars or shares."""

    strategy: str
    underlying: str
    expiry: str
    max_loss: float
    requirement: float
    delta: float  # share-equivalent delta
    vega: float  # dollars per vol point


@dataclass(frozen=True)
class Exposure:
    """What one scope (a strategy, or the account) holds and has committed right now."""

    positions: list[Position]  # held and opening
    opened_today: int  # entries decided today that did not come to nothing
    max_loss: float  # $: sum of committed max losses
    requirement: float  # $: buying power committed
    delta: float  # share-equivalent
    vega: float  # $ per vol point
    sectors: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


def units(p: Position) -> int:
    """Structures a position commits: those held, or those its entry order may still fill."""
    return max(p.quantity, p.ordered) if p.status is Status.OPENING else p.quantity


def opened_on(positions: list[Position], day: date) -> int:
    return sum(
        1
        for p in positions
        if p.roll_number == 0
        and p.status is not Status.UNFILLED
        and p.opened_at.astimezone(NEW_YORK).date() == day
    )


def limit_problem(
    limits: Mapping[str, float | int], proposal: Proposal, exposure: Exposure, net_liq: float
) -> str | None:
    """The first limit the proposal would break (None: within every limit)."""
    mine = exposure.positions
    checks = (
        ("max_positions", len(mine), "open positions"),
        (
            "max_per_symbol",
            sum(p.underlying == proposal.underlying for p in mine),
            f"positions on {proposal.underlying}",
        ),
        (
            "max_per_expiry",
            sum(p.expiry == proposal.expiry for p in mine),
            f"positions expiring {proposal.expiry}",
        ),
        ("max_new_per_day", exposure.opened_today, "entries today"),
    )
    for key, count, what in checks:
        cap = limits.get(key)
        if cap is not None and count + 1 > cap:
            return f"{key} {int(cap)} reached ({count} {what})"
    sector_cap = limits.get("max_per_sector")
    if sector_cap is not None:
        sector = _sector(proposal.underlying, exposure.sectors)
        count = sum(_sector(p.underlying, exposure.sectors) == sector for p in mine)
        if count + 1 > sector_cap:
            return f"max_per_sector {int(sector_cap)} reached ({count} in {sector})"
    return _share_problem(limits, proposal, exposure, net_liq)


def _share_problem(limits, proposal: Proposal, exposure: Exposure, net_liq: float) -> str | None:
    if not net_liq > 0:
        return "net liquidating value is not positive"
    shares = (
        ("max_buying_power", exposure.requirement + proposal.requirement, "buying power"),
        ("max_allocation", exposure.requirement + proposal.requirement, "of net liq committed"),
        ("max_heat", exposure.max_loss + proposal.max_loss, "heat"),
    )
    for key, after, what in shares:
        cap = limits.get(key)
        if cap is not None and after / net_liq > cap + 1e-12:
            return f"{key} {cap:.0%} exceeded ({after / net_liq:.1%} {what} after this trade)"
    for key, now, added in (
        ("max_portfolio_delta", exposure.delta, proposal.delta),
        ("max_portfolio_vega", exposure.vega, proposal.vega),
    ):
        cap = limits.get(key)
        if cap is not None and abs(now + added) > cap:
            return f"{key} {cap:g} exceeded ({now + added:+.1f} after this trade)"
    return None


def _sector(symbol: str, sectors: Mapping[str, tuple[str, ...]]) -> str:
    for name, members in sectors.items():
        if symbol in members:
            return name
    return symbol  # an unlisted underlying is a sector of its own
