"""How many structures to trade: fixed, fixed-fractional risk, or a fraction of Kelly from the
strategy's own closed trades; then caps (max contracts, buying power share) and the daily
target schedule (full size below half the target, shrinking linearly to nothing at it, or
`near_target`'s steps). A portfolio file's caps and daily target then apply to every
strategy's trade, on the account's numbers."""

from __future__ import annotations

import math
from dataclasses import dataclass

from rulesengine.check.program import Program

KELLY_MIN_TRADES = 30  # the floor of evidence before Kelly sizing is trusted


@dataclass(frozen=True)
class TradeStats:
    """Closed-trade statistics of one strategy (P&L in dollars)."""

    wins: int = 0
    losses: int = 0
    average_win: float = 0.0
    average_loss: float = 0.0  # positive

    @classmethod
    def of(cls, pnls: list[float]) -> TradeStats:
        wins = [p for p in pnls if p > 0]
        losses = [-p for p in pnls if p <= 0]
        return cls(
            len(wins),
            len(losses),
            sum(wins) / len(wins) if wins else 0.0,
            sum(losses) / len(losses) if losses else 0.0,
        )

    @property
    def count(self) -> int:
        return self.wins + self.losses

    def kelly(self) -> float:
        """The Kelly fraction W - (1 - W) / R; 0 where a side has no trades."""
        if not self.wins or not self.losses or self.average_loss <= 0:
            return 0.0 if not self.wins else 1.0
        w = self.wins / self.count
        r = self.average_win / self.average_loss
        return w - (1 - w) / r


@dataclass(frozen=True)
class Size:
    contracts: int
    reason: str  # how the number was reached, or why it is zero


def size_trade(
    program: Program,
    values: dict[str, float],
    max_loss: float,
    requirement: float,
    scalars: dict[str, float],
    stats: TradeStats,
) -> Size:
    """`values` holds this candidate's evaluated size expressions (risk, kelly, ...);
    max_loss and requirement are dollars per structure."""
    steps: list[str] = []
    n = _base(program, values, max_loss, stats, scalars, steps)
    n = _caps(n, program, values, requirement, scalars, steps)
    return Size(max(n, 0), "; ".join(steps))


def cap_by_portfolio(
    size: Size,
    portfolio: str,
    program: Program,
    values: dict[str, float],
    requirement: float,
    account: dict[str, float],
) -> Size:
    """A portfolio file's `size:` caps every strategy's trade after its own sizing: the
    desk's max_contracts, max_buying_power, and daily target read on the account's day P&L."""
    steps: list[str] = []
    n = _caps(size.contracts, program, values, requirement, account, steps)
    if not steps:
        return size
    return Size(max(n, 0), f"{size.reason}; {portfolio}: {'; '.join(steps)}")


def _caps(n: int, program, values, requirement, scalars, steps: list[str]) -> int:
    cap = program.size.get("max_contracts")
    if isinstance(cap, int) and n > cap:
        n = cap
        steps.append(f"capped at max_contracts {cap}")
    share = values.get("max_buying_power")
    if share is not None and requirement > 0:
        allowed = math.floor(share * scalars.get("buying_power", 0.0) / requirement)
        if n > allowed:
            n = max(allowed, 0)
            steps.append(f"buying power cap {share:.0%} allows {allowed}")
    target = values.get("daily_target")
    if target is not None and target > 0:
        cuts = program.size.get("near_target")
        n = _daily_target(n, scalars.get("day_pnl", 0.0), target, cuts, steps)
    return n


def _base(program, values, max_loss, stats, scalars, steps) -> int:
    fixed = program.size.get("contracts")
    if isinstance(fixed, int):
        steps.append(f"fixed {fixed}")
        n = fixed
    elif "risk" in values:
        if not (max_loss > 0):
            steps.append("max loss unknown: cannot size by risk")
            return 0
        n = math.floor(values["risk"] / max_loss)
        steps.append(f"risk ${values['risk']:,.2f} / max loss ${max_loss:,.2f} = {n}")
    else:
        steps.append("1 (no size rule)")
        n = 1
    if "kelly" in values:
        n = _kelly(n, values["kelly"], program, max_loss, stats, scalars, steps)
    return n


def _kelly(n, fraction, program, max_loss, stats, scalars, steps) -> int:
    needed = program.size.get("kelly_min_trades")
    needed = needed if isinstance(needed, int) else KELLY_MIN_TRADES
    if stats.count < needed:
        steps.append(f"Kelly needs {needed} closed trades, has {stats.count}: kept {n}")
        return n
    f = stats.kelly()
    if f <= 0:
        steps.append(f"Kelly fraction {f:.3f} <= 0: no edge in {stats.count} trades")
        return 0
    if not (max_loss > 0):
        return 0
    sized = math.floor(fraction * f * scalars.get("net_liq", 0.0) / max_loss)
    steps.append(f"{fraction:.0%} Kelly (f*={f:.3f} over {stats.count} trades) = {sized}")
    return sized


def _daily_target(n: int, day_pnl: float, target: float, cuts, steps: list[str]) -> int:
    """Size near the day's target: 0 at it; before it, `near_target`'s multiplier for the
    largest share passed (`{80%: 50%, 90%: 25%}`), or without one a linear shrink from half."""
    if day_pnl >= target:
        steps.append(f"daily target ${target:,.0f} reached (day P&L ${day_pnl:,.0f})")
        return 0
    if cuts:
        passed = [(at, keep) for at, keep in cuts if day_pnl >= at * target]
        if not passed:
            return n
        at, keep = passed[-1]
        scaled = math.floor(n * keep)
        steps.append(f"day P&L ${day_pnl:,.0f} past {at:.0%} of the target: x{keep:g} = {scaled}")
        return scaled
    if day_pnl > target / 2:
        scale = (target - day_pnl) / (target / 2)
        scaled = math.floor(n * scale)
        steps.append(f"day P&L ${day_pnl:,.0f} past half the target: x{scale:.2f} = {scaled}")
        return scaled
    return n
