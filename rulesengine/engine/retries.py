"""`order: retries`: an order the broker rejects is sent again, re-priced at the quotes of the
tick it goes out on, after `retry_after` (doubling after each attempt), up to `retries` times.

The attempt waiting is kept in the position (`detail["retry"]`), so it survives a restart
and the position keeps its place meanwhile: an entry still counts against every limit, an
exit's position is not exited twice. Each attempt is a new decision with its own
idempotency key; a tick re-run after a crash sends the same one again, never a second.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from brokers.model import Intent
from rulesengine.engine import orders
from rulesengine.engine.book import PositionBook
from rulesengine.engine.breakers import Gate
from rulesengine.engine.context import TickContext
from rulesengine.engine.desk import OrderDesk
from rulesengine.engine.policy import OrderPolicy
from rulesengine.engine.positions import Position, Status
from rulesengine.engine.pricing import priced_request, structure_quote
from rulesengine.engine.record import Recorder
from rulesengine.engine.ruleset import Compiled

RETRY = "retry"


@dataclass(frozen=True)
class Retry:
    purpose: str  # entry | exit
    attempt: int  # 1 for the first retry
    due: datetime
    reason: str  # why the order was sent: the exit's reason, or the entry's
    quantity: int | None = None  # an exit of part of the position
    partial: str | None = None  # the scale-out step that exit is


def schedule(
    p: Position,
    purpose: str,
    policy: OrderPolicy,
    now: datetime,
    reason: str,
    quantity: int | None = None,
    partial: str | None = None,
) -> str | None:
    """Book the next attempt after a rejection; None (and nothing booked) when the policy
    allows no more. Returns what to tell the trader, e.g. `retry 1 of 3 at 10:31:00`."""
    previous = pending(p)
    attempt = previous.attempt + 1 if previous and previous.purpose == purpose else 1
    if attempt > policy.retries:
        p.detail.pop(RETRY, None)
        return None
    wait = policy.retry_after_s * 2 ** (attempt - 1)
    due = now + timedelta(seconds=wait)
    p.detail[RETRY] = {
        "purpose": purpose,
        "attempt": attempt,
        "due": due.isoformat(),
        "reason": reason,
        "quantity": quantity,
        "partial": partial,
    }
    return f"retry {attempt} of {policy.retries} after {wait:g}s"


def pending(p: Position) -> Retry | None:
    state = p.detail.get(RETRY)
    if not state:
        return None
    return Retry(
        state["purpose"],
        int(state["attempt"]),
        datetime.fromisoformat(state["due"]),
        state["reason"],
        state.get("quantity"),
        state.get("partial"),
    )


def due(p: Position, purpose: str, now: datetime) -> Retry | None:
    found = pending(p)
    return found if found is not None and found.purpose == purpose and found.due <= now else None


def done(p: Position) -> None:
    p.detail.pop(RETRY, None)


class EntryRetries:
    """Entries the broker refused, sent again when the policy's wait is over: the same legs
    and quantity, priced by the policy at this tick's quotes."""

    def __init__(self, book: PositionBook, desk: OrderDesk, recorder: Recorder):
        self.book, self.desk, self.recorder = book, desk, recorder

    async def run(
        self, ctx: TickContext, compiled: Compiled, policy: OrderPolicy, allowed: Gate
    ) -> None:
        for p in list(self.book.positions.values()):
            attempt = due(p, "entry", ctx.now) if p.strategy == compiled.name else None
            if attempt is None or p.status is not Status.OPENING:
                continue
            if not allowed.entries:  # a lock since: the entry is not made after all
                self._give_up(ctx, compiled, p, f"retry {attempt.attempt}: {allowed.because}")
                continue
            await self._resend(ctx, compiled, policy, p, attempt)

    async def _resend(
        self, ctx: TickContext, compiled: Compiled, policy: OrderPolicy, p: Position, attempt: Retry
    ) -> None:
        legs = self.book.intents(orders.order_legs(p.legs, Intent.OPEN), p.ordered)
        quote = structure_quote(ctx.market, ctx.index, legs)
        if quote is None:
            self._give_up(ctx, compiled, p, f"retry {attempt.attempt}: no quote for a leg")
            return
        mid = quote.mid if quote.sells else -quote.mid
        req = priced_request(
            ctx, policy, "entry", compiled.name, compiled.version, legs, p.ordered, mid,
            p.underlying,
        )  # fmt: skip
        p.entry_key = req.client_key
        self.book.save(p)
        why = f"{attempt.reason} (retry {attempt.attempt})"
        if await self.desk.send(req, "entry", compiled.name, p.id, ctx.now):
            done(p)
            self.book.save(p)
            self.recorder.decide(ctx.now, compiled, "entry", p.id, "entered", why)
            return
        why = f"{why}; order: {self.desk.rejection(req.client_key)}"
        again = schedule(p, "entry", policy, ctx.now, attempt.reason)
        if again is None:
            self._give_up(ctx, compiled, p, why)
            return
        self.book.save(p)
        self.recorder.decide(ctx.now, compiled, "entry", p.id, "retrying", f"{why}; {again}")

    def _give_up(self, ctx: TickContext, compiled: Compiled, p: Position, why: str) -> None:
        done(p)
        p.unfilled()
        self.book.save(p)
        self.recorder.decide(ctx.now, compiled, "entry", p.id, "rejected", why)
