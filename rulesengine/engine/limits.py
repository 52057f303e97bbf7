"""Portfolio limits, checked for a sized candidate before any order: counts (per strategy,
symbol, expiry, sector, day), buying-power use, heat, and portfolio delta and vega bands."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from rulesengine.engine.positions import Position


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


def limit_problem(
    limits: Mapping[str, float | int],
    scope: str,
    proposal: Proposal,
    positions: list[Position],
    scalars: Mapping[str, float],
    opened_today: int,
    sectors: Mapping[str, tuple[str, ...]] = {},
) -> str | None:
    """The first limit the proposal would break (None: within every limit). `scope` is
    'strategy' (count this strategy's positions) or 'portfolio' (count every position)."""
    mine = [p for p in positions if scope == "portfolio" or p.strategy == proposal.strategy]
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
        ("max_new_per_day", opened_today, "entries today"),
    )
    for key, count, what in checks:
        cap = limits.get(key)
        if cap is not None and count + 1 > cap:
            return f"{key} {int(cap)} reached ({count} {what})"
    sector_cap = limits.get("max_per_sector")
    if sector_cap is not None:
        sector = _sector(proposal.underlying, sectors)
        count = sum(_sector(p.underlying, sectors) == sector for p in mine)
        if count + 1 > sector_cap:
            return f"max_per_sector {int(sector_cap)} reached ({count} in {sector})"
    return _share_problem(limits, proposal, scalars)


def _share_problem(limits, proposal: Proposal, scalars) -> str | None:
    net_liq = scalars.get("net_liq", 0.0)
    if net_liq <= 0:
        return "net liquidating value is not positive"
    bp_cap = limits.get("max_buying_power")
    if bp_cap is not None:
        used = net_liq - scalars.get("buying_power", net_liq) + proposal.requirement
        if used / net_liq > bp_cap:
            return f"max_buying_power {bp_cap:.0%} exceeded ({used / net_liq:.1%} after this trade)"
    heat_cap = limits.get("max_heat")
    if heat_cap is not None:
        heat = scalars.get("heat", 0.0) + proposal.max_loss / net_liq
        if heat > heat_cap:
            return f"max_heat {heat_cap:.0%} exceeded ({heat:.1%} after this trade)"
    for key, field, added in (
        ("max_portfolio_delta", "portfolio_delta", proposal.delta),
        ("max_portfolio_vega", "portfolio_vega", proposal.vega),
    ):
        cap = limits.get(key)
        if cap is not None:
            after = scalars.get(field, 0.0) + added
            if abs(after) > cap:
                return f"{key} {cap:g} exceeded ({after:+.1f} after this trade)"
    return None


def _sector(symbol: str, sectors: Mapping[str, tuple[str, ...]]) -> str:
    for name, members in sectors.items():
        if symbol in members:
            return name
    return symbol  # an unlisted underlying is a sector of its own
