"""Rolls: close a position and open its replacement in one combo order, the child keeping
the lineage. A whole-position roll takes the best candidate of the strategy's own legs and
entry rules on a later expiry; a roll of some legs (`roll: legs:`) moves them as
engine.partial_roll finds; futures roll over by engine.rollover. Without a target, the
`fallback` chain runs: close_if_profitable, close, alert.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from brokers.model import Intent
from rulesengine.engine import orders, partial_roll
from rulesengine.engine.breakers import Gate
from rulesengine.engine.clock import NEW_YORK
from rulesengine.engine.context import TickContext
from rulesengine.engine.entries import CANDIDATES_EXAMINED, entry_state, new_position
from rulesengine.engine.positions import Position
from rulesengine.engine.pricing import priced_request
from rulesengine.engine.ruleset import Compiled
from rulesengine.strategies.scan import candidate_records, scan

if TYPE_CHECKING:
    from rulesengine.engine.exits import Exits

ROLL_MIN_CREDIT = 0.05  # a credit-only roll must net at least a nickel (one complex tick)


class Rolls:
    def __init__(self, exits: Exits):
        self.exits = exits
        self.book, self.desk, self.recorder = exits.book, exits.desk, exits.recorder

    def policy(self, strategy: str):
        return self.exits.policy(strategy)

    async def roll(
        self,
        ctx: TickContext,
        compiled: Compiled,
        p: Position,
        allowed: Gate,
        why: str,
        credit: float,
        target: float | None = None,
    ) -> None:
        program, now = compiled.program, ctx.now
        problem = allowed.because if not allowed.rolls else ""
        if allowed.rolls:
            problem = self.exits.cannot_close(ctx, p, credit) or ""
        if allowed.rolls and not problem and program.roll_legs:
            moving, problem = partial_roll.find(program, p, ctx.market, ctx.index, target)
            if moving is not None and program.roll_credit_only and moving.net < ROLL_MIN_CREDIT:
                problem = f"the roll nets {moving.net:+.2f}, not a credit"
            elif moving is not None:
                await self.send_partial_roll(ctx, compiled, p, moving, why)
                return
        elif allowed.rolls and not problem:
            found, problem = self._roll_target(ctx, compiled, p, credit)
            if found is not None:
                record, net = found
                await self._send_roll(ctx, compiled, p, record, net, why)
                return
        pnl = self.book.marks[p.id].pnl if p.id in self.book.marks else float("nan")
        for step in program.roll_fallback:
            if step == "close_if_profitable" and pnl > 0:
                why = f"roll fallback, closed at a profit ({problem})"
                await self.exits.close(ctx, p, why, credit)
                return
            if step == "close":
                await self.exits.close(ctx, p, f"roll fallback, closed ({problem})", credit)
                return
            if step == "alert":
                self._alert_roll(now, compiled, p, why, problem)
                return
        self.recorder.decide(now, compiled, "roll", p.id, "none", f"{why}; {problem}")

    def _alert_roll(self, now: datetime, compiled: Compiled, p: Position, why: str, problem: str):
        day = now.astimezone(NEW_YORK).date().isoformat()
        if p.detail.get("roll_alerted") != day:
            p.detail["roll_alerted"] = day
            self.book.save(p)
            self.recorder.alert(
                now,
                "roll",
                f"{p.id} ({p.strategy}) needs a roll ({why}) but none was placed: {problem}",
            )
        self.recorder.decide(now, compiled, "roll", p.id, "alerted", f"{why}; {problem}")

    def _roll_target(self, ctx: TickContext, compiled: Compiled, p: Position, close_credit: float):
        program, graph = compiled.program, compiled.graph
        result = scan(program, graph, ctx.market, dict(ctx.scalars(compiled.name)))
        records = candidate_records(result, program, ctx.market, CANDIDATES_EXAMINED * 4)
        held = {leg.symbol for leg in p.legs}
        for record in records:
            legs = orders.candidate_legs(record)
            expiries = [leg.expiry for leg in legs if leg.expiry]
            if not expiries or min(expiries) <= p.expiry or {leg.symbol for leg in legs} & held:
                continue
            net = close_credit + (record["credit"] or 0.0)
            if program.roll_credit_only and net < ROLL_MIN_CREDIT:
                continue
            return (record, net), ""
        what = "a later expiry passing the legs and entry rules"
        if program.roll_credit_only:
            what += " for a net credit"
        return None, f"no roll target: none of {len(records)} candidates is {what}"

    async def _send_roll(
        self, ctx: TickContext, compiled: Compiled, p: Position, record: dict, net: float, why: str
    ) -> None:
        new_legs = orders.candidate_legs(record)
        legs = self.book.intents(
            orders.order_legs(p.legs, Intent.CLOSE, closing=True)
            + orders.order_legs(new_legs, Intent.OPEN),
            p.quantity,
        )
        req = priced_request(
            ctx, self.policy(compiled.name), "roll", compiled.name, compiled.version, legs,
            p.quantity, net, p.underlying,
        )  # fmt: skip
        child = new_position(compiled, req, new_legs, record, ctx.now, rolled_from=p)
        child.detail.update(entry_state(ctx, new_legs, record))
        await self._place_roll(ctx, compiled, p, req, child, net, why)

    async def send_partial_roll(
        self, ctx: TickContext, compiled: Compiled, p: Position, moving, why: str
    ) -> None:
        """Close the moved legs and open their replacements in one order; the child holds
        the kept legs (transferred at their mid) and the new ones."""
        legs = self.book.intents(
            orders.order_legs(moving.moved, Intent.CLOSE, closing=True)
            + orders.order_legs(moving.new, Intent.OPEN),
            p.quantity,
        )
        req = priced_request(
            ctx, self.policy(compiled.name), "roll", compiled.name, compiled.version, legs,
            p.quantity, moving.net, p.underlying,
        )  # fmt: skip
        record = moving.child_numbers()
        replaced = {leg.name: leg for leg in moving.new}
        child_legs = [replaced.get(leg.name, leg) for leg in p.legs]  # the strategy's order
        child = new_position(compiled, req, child_legs, record, ctx.now, rolled_from=p)
        child.detail.update(entry_state(ctx, child_legs, record))
        child.detail["transfer_in"] = round(-moving.transfer, 6)
        p.detail["transfer_out"] = round(moving.transfer, 6)
        moved = ", ".join(leg.name for leg in moving.moved)
        await self._place_roll(ctx, compiled, p, req, child, moving.net, f"{why}; moves {moved}")

    async def _place_roll(
        self, ctx: TickContext, compiled: Compiled, p: Position, req, child, net: float, why: str
    ) -> None:
        now = ctx.now
        if self.exits.before_exit is not None:  # the old position's stop goes with it
            await self.exits.before_exit(p, ctx, f"roll: {why}")
        p.start_exit(req.client_key, f"roll: {why}")
        self.book.add(child)
        self.book.save(p)
        reason = f"{why}; roll {child.roll_number} of {child.root_id} for a net {net:+.2f}"
        self.recorder.provisional(
            now, compiled, "roll", p.id, "rolling", reason, {"into": child.id}
        )
        placed = await self.desk.send(req, "roll", compiled.name, p.id, now)
        outcome = "rolling" if placed else "failed"
        self.recorder.decide(now, compiled, "roll", p.id, outcome, reason, {"into": child.id})
        if placed:
            self.recorder.report.rolls += 1
