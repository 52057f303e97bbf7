"""The exit pipeline: what locks enforce (cancel entries, close all), then for each held
position of a strategy its exits in order, else its roll (engine.rolls, with the roll's
fallbacks).

Exits evaluate on every mark, the model's included; a closing order needs a real quote for
every leg and a market that is open, otherwise the position is held and the reason recorded.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from datetime import datetime

import numpy as np

from brokers.model import Intent
from rulesengine.check.program import Checked, FieldRef
from rulesengine.engine import orders, retries
from rulesengine.engine.book import PositionBook
from rulesengine.engine.breakers import Gate
from rulesengine.engine.context import TickContext
from rulesengine.engine.desk import OrderDesk
from rulesengine.engine.marks import PositionView
from rulesengine.engine.policy import OrderPolicy
from rulesengine.engine.positions import Position, Status
from rulesengine.engine.pricing import priced_request
from rulesengine.engine.record import Recorder
from rulesengine.engine.rolls import Rolls
from rulesengine.engine.ruleset import Compiled
from rulesengine.language import ast
from rulesengine.runtime.evaluate import Evaluator


class Exits:
    def __init__(self, book: PositionBook, desk: OrderDesk, recorder: Recorder):
        self.book = book
        self.desk = desk
        self.recorder = recorder
        self.policy: Callable[[str], OrderPolicy] = lambda strategy: OrderPolicy()
        self.before_exit: Callable[[Position, TickContext, str], Awaitable[None]] | None = None
        self.rolls = Rolls(self)

    async def enforce(self, ctx: TickContext, strategy: str, allowed: Gate) -> None:
        """What locks impose, and closes asked for by hand (`close_requested`, set by the API:
        a trader's explicit instruction, carried out whatever the locks)."""
        await self._time_out(ctx, strategy)
        for p in self.book.open_positions(strategy):
            asked = p.detail.get("close_requested")
            unwind = p.detail.get("unwind")  # an entry short of `order: min_fill`
            if (asked or unwind) and p.status is Status.OPEN:
                mark = self.book.marks.get(p.id)
                credit = mark.close_credit if mark is not None else None
                why = f"closed by hand ({asked})" if asked else f"unwound: {unwind}"
                if await self.close(ctx, p, why, credit):
                    p.detail.pop("close_requested", None)
                    self.book.save(p)
        if allowed.cancel_entries:
            for row in self.desk.working_entries(strategy):
                await self.desk.cancel(row, ctx.now, allowed.because)
        if allowed.close_all:
            for p in self.book.open_positions(strategy):
                if p.status is Status.OPEN:
                    mark = self.book.marks.get(p.id)
                    credit = mark.close_credit if mark is not None else None
                    await self.close(ctx, p, f"close_all ({allowed.because})", credit)

    async def _time_out(self, ctx: TickContext, strategy: str) -> None:
        """`order: timeout`: cancel the strategy's orders working longer than it allows."""
        timeout = self.policy(strategy).timeout_s
        if timeout is None:
            return
        for row in self.desk.working(strategy):
            age = (ctx.now - datetime.fromisoformat(row.created_at)).total_seconds()
            if age > timeout:
                why = f"order timeout: working {age / 60:.0f} min, more than {timeout / 60:g} min"
                await self.desk.cancel(row, ctx.now, why)

    async def monitor(self, ctx: TickContext, compiled: Compiled, allowed: Gate) -> None:
        scalars = ctx.scalars(compiled.name)
        for group in self.book.groups.values():
            first = group.positions[0] if group.positions else None
            # holdings are the strategy's but no exit or roll rule trades them
            if first is not None and first.strategy == compiled.name and not first.is_holding:
                view = group.view.reading(scalars)
                await self._monitor_group(ctx, compiled, group.positions, view, allowed)

    async def _monitor_group(
        self,
        ctx: TickContext,
        compiled: Compiled,
        held: list[Position],
        view: PositionView,
        allowed: Gate,
    ) -> None:
        program, graph, now = compiled.program, compiled.graph, ctx.now
        evaluator = Evaluator(graph, view)
        exits = {name: evaluator.mask(graph.values[f"exit:{name}"]) for name in program.exits}
        roll = evaluator.mask(graph.values["roll:when"]) if program.roll is not None else None
        to = (
            np.broadcast_to(np.asarray(evaluator.value(graph.values["roll:to"]), float), (view.n,))
            if "roll:to" in graph.values
            else None
        )
        self._count_checks(compiled, held, view, exits, roll)
        for i, p in enumerate(held):
            if p.status is not Status.OPEN:
                continue
            if not np.isfinite(view.columns["pnl"][i]):
                reason = f"no quote for {', '.join(self.book.unquoted_legs(p, ctx.index))} and "
                reason += "no model price: exits not evaluated"
                self.recorder.decide(now, compiled, "monitor", p.id, "unmarked", reason)
                continue
            done = p.detail.get("partial_exits", ())  # a scale-out step fires once
            fired = next((n for n, mask in exits.items() if mask[i] and n not in done), None)
            credit = float(view.columns["credit"][i])
            if fired is not None and fired in program.exit_rolls:  # `-> roll`: as `roll: when:`
                reason = clause_reason(program.exits[fired], view, i)
                target = None if to is None else float(to[i])
                why = f"{fired}: {reason}"
                await self.rolls.roll(ctx, compiled, p, allowed, why, credit, target)
            elif fired is not None:
                reason = clause_reason(program.exits[fired], view, i)
                if not allowed.exits:
                    why = f"{fired}: {reason}; {allowed.because}"
                    self.recorder.decide(now, compiled, "exit", p.id, "held", why)
                    continue
                size = program.exit_sizes.get(fired)
                part = size.contracts(p.quantity) if size is not None else p.quantity
                if part < p.quantity:
                    p.detail["partial_pending"] = fired
                    why = f"{fired} ({size}: {part} of {p.quantity}): {reason}"
                    await self.close(ctx, p, why, credit, part)
                else:
                    await self.close(ctx, p, f"{fired}: {reason}", credit)
            elif roll is not None and roll[i] and program.roll is not None:
                reason = clause_reason(program.roll, view, i)
                target = None if to is None else float(to[i])
                await self.rolls.roll(ctx, compiled, p, allowed, reason, credit, target)

    def _count_checks(self, compiled: Compiled, held, view, exits, roll) -> None:
        pnl = view.columns["pnl"]
        judged = np.array(
            [p.status is Status.OPEN and np.isfinite(pnl[i]) for i, p in enumerate(held)], bool
        )
        masks = {f"exit {name}": mask for name, mask in exits.items()}
        if roll is not None:
            masks["roll.when"] = roll
        for clause, mask in masks.items():
            fired = int(np.count_nonzero(np.asarray(mask, bool) & judged))
            self.recorder.report.checks.add(
                compiled.program.file, clause, fired, int(judged.sum()) - fired
            )

    def cannot_close(self, ctx: TickContext, p: Position, credit: float | None) -> str | None:
        if credit is None or not math.isfinite(credit):
            return "no price to close at"
        unquoted = self.book.unquoted_legs(p, ctx.index)
        if unquoted:
            return f"marked by model, no quote to close at for {', '.join(unquoted)}"
        closed = ctx.sessions.closed_reason(p.underlying, ctx.now)
        if closed:
            return f"market closed for {p.underlying} ({closed})"
        return None

    async def close(
        self,
        ctx: TickContext,
        p: Position,
        reason: str,
        credit: float | None,
        quantity: int | None = None,
    ) -> bool:
        """Close the position (or `quantity` of its contracts: a partial exit, which leaves the
        rest open under the same id and lineage)."""
        now, compiled = ctx.now, self.desk.compiled(p.strategy)
        units = p.quantity if quantity is None else quantity
        problem = self.cannot_close(ctx, p, credit)
        if problem is not None or credit is None:
            self.recorder.decide(now, compiled, "exit", p.id, "held", f"{reason}; {problem}")
            return False
        if self.before_exit is not None:  # a protective stop must not fill behind the exit
            await self.before_exit(p, ctx, f"exit: {reason}")
        legs = self.book.intents(orders.order_legs(p.legs, Intent.CLOSE, closing=True), units)
        version = compiled.version if compiled else p.version
        policy = self.policy(p.strategy)
        req = priced_request(
            ctx, policy, "exit", p.strategy, version, legs, units, credit, p.underlying
        )
        p.start_exit(req.client_key, reason)
        p.detail["exit_mid"] = credit
        self.book.save(p)
        detail = {"order": req.client_key}
        self.recorder.provisional(now, compiled, "exit", p.id, "closing", reason, detail)
        placed = await self.desk.send(req, "exit", p.strategy, p.id, now)
        if placed:
            retries.done(p)
            self.book.save(p)
            self.recorder.decide(now, compiled, "exit", p.id, "closing", reason, detail)
            self.recorder.report.exits += 1
            return True
        # refused: the position is held again; the exit fires at the next monitor, or sooner
        # by the policy's retries
        p.exit_ended(0, 0.0)
        step = p.detail.pop("partial_pending", None)
        again = retries.schedule(p, "exit", policy, now, reason, quantity, step)
        self.book.save(p)
        why = f"{reason}; order: {self.desk.rejection(req.client_key)}"
        if again is not None:
            why, outcome = f"{why}; {again}", "retrying"
        else:
            outcome = "failed"
        self.recorder.decide(now, compiled, "exit", p.id, outcome, why, detail)
        return False

    async def retry_due(self, ctx: TickContext, strategy: str) -> None:
        """Exits the broker refused, sent again when the policy's wait is over (at this
        tick's mark), whatever the monitor's schedule."""
        for p in self.book.open_positions(strategy):
            attempt = retries.due(p, "exit", ctx.now)
            if attempt is None or p.status is not Status.OPEN:
                continue
            mark = self.book.marks.get(p.id)
            credit = mark.close_credit if mark is not None else None
            if attempt.partial is not None:
                p.detail["partial_pending"] = attempt.partial
            why = f"{attempt.reason} (retry {attempt.attempt})"
            await self.close(ctx, p, why, credit, attempt.quantity)

    # ------------------------------------------------------------ rolls


def clause_reason(checked: Checked, view: PositionView, i: int) -> str:
    """`pnl >= 50% of max_profit (pnl = 312.5, max_profit = 625)` for position row i."""
    refs = {}
    for node in ast.walk(checked.node):
        if isinstance(node, FieldRef) and node.field is not None:
            label = f"{node.leg}.{node.field.name}" if node.leg else node.field.name
            value = view.field(node.leg, node.field.name)
            refs[label] = np.asarray(value).reshape(-1)[i] if np.ndim(value) else value
    if view.columns.get("marked_by_model") is not None and view.columns["marked_by_model"][i]:
        refs["marked_by_model"] = "yes"
    shown = ", ".join(f"{k} = {_fmt(v)}" for k, v in sorted(refs.items()))
    return f"{checked.text} ({shown})" if shown else checked.text


def _fmt(value) -> str:
    if isinstance(value, str):
        return value
    try:
        return f"{float(value):,.4g}"
    except (TypeError, ValueError):
        return str(value)
