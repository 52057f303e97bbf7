"""Futures roll-over: a held contract past its roll date moves to the front month.

Every tick, a position's future legs whose contract has reached its roll date
(brokers.futures.ROLL_DAYS before expiry, when volume moves to the next contract) are rolled
into the front month in one calendar order, as a roll that moves those legs: the position
closes and a child with its lineage holds the new contract (and any other legs, carried over
at their mid). The decision says which contract went to which. A lock that stops rolls holds
the position where it is, and says so; held into expiry, a future settles in cash.
"""

from __future__ import annotations

from brokers.futures import front_month, parse_future
from rulesengine.data.chain import from_seconds
from rulesengine.engine.book import PositionBook
from rulesengine.engine.breakers import Gate
from rulesengine.engine.clock import NEW_YORK
from rulesengine.engine.context import TickContext
from rulesengine.engine.exits import Exits
from rulesengine.engine.orders import unit_weight
from rulesengine.engine.partial_roll import PartialRoll
from rulesengine.engine.positions import Position, PositionLeg, Status
from rulesengine.engine.record import Recorder
from rulesengine.engine.ruleset import Compiled


class RollOver:
    def __init__(self, book: PositionBook, exits: Exits, recorder: Recorder):
        self.book, self.exits, self.recorder = book, exits, recorder

    async def run(self, ctx: TickContext, compiled: Compiled, allowed: Gate) -> None:
        today = ctx.now.astimezone(NEW_YORK).date()
        for p in self.book.open_positions(compiled.name):
            if p.status is not Status.OPEN or p.is_holding:
                continue
            due = [leg for leg in p.legs if _rolls_today(leg, today)]
            if not due:
                continue
            if not allowed.rolls:
                why = f"roll-over of {_names(due)} held: {allowed.because}"
                self.recorder.decide(ctx.now, compiled, "roll", p.id, "held", why)
                continue
            moving, problem = futures_roll(p, due, ctx, today)
            if moving is None:
                self.recorder.decide(ctx.now, compiled, "roll", p.id, "held", problem)
                continue
            pairs = zip(moving.moved, moving.new, strict=True)
            moves = ", ".join(f"{a.symbol} -> {b.symbol}" for a, b in pairs)
            why = f"roll-over: {moves} (roll date, {_days_left(due[0], today)} days to expiry)"
            await self.exits.rolls.send_partial_roll(ctx, compiled, p, moving, why)


def futures_roll(
    p: Position, due: list[PositionLeg], ctx: TickContext, today
) -> tuple[PartialRoll | None, str]:
    """The calendar roll moving `due` to the front month (None and why, without a quote)."""
    mids = ctx.market.column("mid")
    expiries = ctx.market.column("expiry")
    new, values = [], {}
    for leg in due:
        contract = parse_future(leg.symbol)
        assert contract is not None, "only future legs roll over"
        front = front_month(contract.spec.root, today)
        row = ctx.index.row(front.symbol, "future")
        if row < 0:
            return None, f"roll-over of {leg.symbol}: {front.symbol} has no quote"
        expiry = from_seconds(float(expiries[row])).isoformat()
        new.append(PositionLeg(leg.name, front.symbol, leg.ratio, "future", 0.0, expiry))
        values[front.symbol] = float(mids[row])
    kept = [leg for leg in p.legs if leg not in due]
    for leg in [*due, *kept]:
        row = ctx.index.row(leg.symbol, leg.kind)
        if row < 0:
            return None, f"roll-over: no quote to close {leg.symbol.strip()}"
        values[leg.symbol] = float(mids[row])

    def worth(legs: list[PositionLeg]) -> float:
        return sum(leg.ratio * values[leg.symbol] * unit_weight(leg.symbol) for leg in legs)

    return PartialRoll(due, new, kept, worth(due), -worth(new), worth(kept)), ""


def _rolls_today(leg: PositionLeg, today) -> bool:
    contract = parse_future(leg.symbol) if leg.kind == "future" else None
    return contract is not None and today >= contract.roll_date


def _days_left(leg: PositionLeg, today) -> int:
    contract = parse_future(leg.symbol)
    return (contract.expiry - today).days if contract else 0


def _names(legs: list[PositionLeg]) -> str:
    return ", ".join(leg.symbol for leg in legs)
