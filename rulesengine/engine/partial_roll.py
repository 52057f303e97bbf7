"""A roll that moves some legs (`roll: legs: [...]`): the untested side of a strangle or a
condor, to a target taken from the position.

The moved legs' sold option (the anchor) takes the contract `to:` chooses (or its own leg's
`prefer`), on the same or the next later expiry; moved bought legs keep their strike distance
from it. One combo order closes the moved legs and opens their replacements; the legs that
stay are not traded. In the book the old position closes and a child (with lineage) holds
the kept legs and the new ones: the kept legs pass from one to the other at their mid when
the roll is decided (`transfer`), so realised P&L counts the moved legs' round trip plus the
kept legs' change up to the transfer, and the child's P&L starts from the transfer price.
The two always sum to what the legs made.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from rulesengine.check.program import FieldRef, Program
from rulesengine.data.chain import Chain, from_seconds, to_seconds
from rulesengine.engine.marks import MULTIPLIER, SymbolIndex
from rulesengine.engine.orders import unit_weight
from rulesengine.engine.positions import Position, PositionLeg
from rulesengine.language import ast


@dataclass(frozen=True)
class PartialRoll:
    moved: list[PositionLeg]  # the position's legs that close
    new: list[PositionLeg]  # their replacements, same names and ratios
    kept: list[PositionLeg]  # legs carried over untraded
    close_credit: float  # per structure, at the mid: closing the moved legs
    open_credit: float  # opening the new legs
    transfer: float  # the kept legs' value at the mid (what closing them would bring)

    @property
    def net(self) -> float:
        return self.close_credit + self.open_credit

    def child_numbers(self) -> dict[str, float]:
        """A candidate-like record for the child: credit at the mid, max profit and loss."""
        credit = self.open_credit - self.transfer
        profit, loss = payoff_extremes([*self.kept, *self.new], credit)
        return {"credit": credit, "max_profit": profit, "max_loss": loss, "rank": float("nan")}


def find(
    program: Program, p: Position, chain: Chain, index: SymbolIndex, target: float | None
) -> tuple[PartialRoll | None, str]:
    """The legs to trade for the roll, or None and why not."""
    names = set(program.roll_legs)
    if names == {"untested"}:
        names = _untested(p, chain, index)
    moved = [leg for leg in p.legs if leg.name in names]
    kept = [leg for leg in p.legs if leg.name not in names]
    anchor = next((leg for leg in moved if leg.ratio < 0 and leg.kind != "stock"), None)
    if anchor is None:
        return None, "no sold option leg among the legs to move"
    row, problem = _anchor_row(program, p, anchor, chain, target)
    if row is None:
        return None, problem
    strike = float(chain.column("strike")[row])
    expiry = from_seconds(float(chain.column("expiry")[row])).isoformat()
    new = []
    for leg in moved:
        wanted = strike + (leg.strike - anchor.strike)
        found = _row(chain, p.underlying, leg.kind, wanted, expiry)
        if found < 0:
            return None, f"no quoted {leg.kind} {wanted:g} on {expiry} for leg {leg.name}"
        symbol = str(chain.column("symbol")[found])
        new.append(PositionLeg(leg.name, symbol, leg.ratio, leg.kind, wanted, expiry))
    mids = chain.column("mid")
    values = {}
    for leg in [*moved, *kept]:
        at = index.row(leg.symbol, leg.kind)
        if at < 0:
            return None, f"no quote to close {leg.symbol.strip()}"
        values[leg.symbol] = float(mids[at])
    for leg in new:
        values[leg.symbol] = float(mids[_row(chain, p.underlying, leg.kind, leg.strike, expiry)])
    return (
        PartialRoll(
            moved,
            new,
            kept,
            close_credit=sum(leg.ratio * values[leg.symbol] for leg in moved),
            open_credit=-sum(leg.ratio * values[leg.symbol] for leg in new),
            transfer=sum(leg.ratio * values[leg.symbol] for leg in kept),
        ),
        "",
    )


def _untested(p: Position, chain: Chain, index: SymbolIndex) -> set[str]:
    """The legs of the side whose sold option has the smaller |delta| (away from the market)."""
    delta = chain.column("delta")
    size = {}
    for leg in p.legs:
        if leg.ratio < 0 and leg.kind in ("put", "call"):
            row = index.row(leg.symbol, leg.kind)
            size[leg.kind] = abs(float(delta[row])) if row >= 0 else float("nan")
    away = "put" if size.get("put", 0.0) < size.get("call", 0.0) else "call"
    return {leg.name for leg in p.legs if leg.kind == away}


def _anchor_row(
    program: Program, p: Position, anchor: PositionLeg, chain: Chain, target: float | None
) -> tuple[int | None, str]:
    rows = _candidates(chain, p, anchor, program.roll_expiry)
    if not len(rows):
        return None, f"no quoted {anchor.kind} on a {program.roll_expiry} expiry"
    prefer = program.roll_to
    if prefer is None:
        leg = next(leg for leg in program.legs if leg.name == anchor.name)
        prefer = leg.prefer
        target = _number(prefer.target) if prefer is not None else None
    if prefer is None or not isinstance(prefer.key, FieldRef) or prefer.key.field is None:
        return None, f"leg {anchor.name} has no `prefer FIELD ...`: give the roll a `to:`"
    values = chain.column(prefer.key.field.name)[rows].astype(float)
    if prefer.mode == "nearest":
        if target is None or not np.isfinite(target):
            return None, "the roll's `to` target has no value for this position"
        score = np.abs(values - target)
    else:
        score = -values if prefer.mode == "highest" else values
    usable = np.isfinite(score)
    if not usable.any():
        return None, f"no {anchor.kind} has a {prefer.key.field.name}"
    return int(rows[usable][np.argmin(score[usable])]), ""


def _candidates(chain: Chain, p: Position, anchor: PositionLeg, when: str) -> np.ndarray:
    kind = 1 if anchor.kind == "call" else 0
    held = {leg.symbol for leg in p.legs}
    rows = np.flatnonzero(
        (chain.column("underlying_symbol") == p.underlying)
        & (chain.column("type") == kind)
        & chain.column("quote_ok")
        & ~np.isin(chain.column("symbol"), list(held))
    )
    expiries = chain.column("expiry")[rows]
    current = to_seconds(date.fromisoformat(anchor.expiry))
    if when == "same":
        return rows[expiries == current]
    later = expiries[expiries > current]
    return rows[expiries == later.min()] if len(later) else rows[:0]


def _row(chain: Chain, underlying: str, kind: str, strike: float, expiry: str) -> int:
    found = np.flatnonzero(
        (chain.column("underlying_symbol") == underlying)
        & (chain.column("type") == (1 if kind == "call" else 0))
        & np.isclose(chain.column("strike"), strike)
        & (chain.column("expiry") == to_seconds(date.fromisoformat(expiry)))
        & chain.column("quote_ok")
    )
    return int(found[0]) if len(found) else -1


def _number(node) -> float | None:
    """A constant target such as `0.30` or `-0.16` (a unary minus over a number)."""
    if isinstance(node, ast.Unary) and node.op == "-":
        inner = _number(node.operand)
        return None if inner is None else -inner
    value = getattr(node, "value", None)
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def payoff_extremes(legs: list[PositionLeg], credit: float) -> tuple[float, float]:
    """Max profit and max loss ($ per structure) at expiry, treating every leg as expiring
    together (conservative for calendars); inf where the payoff is unbounded."""
    strikes = sorted({leg.strike for leg in legs if leg.kind in {"put", "call"}})
    grid = np.array([0.0, *strikes, (strikes[-1] if strikes else 0.0) * 10 + 1])
    payoff = np.full(len(grid), credit)
    slope_high = 0.0
    for leg in legs:
        if leg.kind == "call":
            payoff += leg.ratio * np.maximum(grid - leg.strike, 0.0)
            slope_high += leg.ratio
        elif leg.kind == "put":
            payoff += leg.ratio * np.maximum(leg.strike - grid, 0.0)
        else:  # shares and futures are worth the price, at their weight
            payoff += leg.ratio * unit_weight(leg.symbol) * grid
            slope_high += leg.ratio * unit_weight(leg.symbol)
    profit = float("inf") if slope_high > 0 else float(payoff.max())
    loss = float("inf") if slope_high < 0 else float(-payoff.min())
    return profit * MULTIPLIER, max(loss, 0.0) * MULTIPLIER
