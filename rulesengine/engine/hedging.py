"""`hedge:`: each position's delta kept in a band with shares of the underlying, or with the
front month of a futures root (`using: /MES`: one contract moves like its multiplier in
units of the index; a hedge contract past its roll date is closed and the next check hedges
in the new front month).

When the band is checked (`every`, or at each monitor), a position whose delta this tick
(options marked now, hedge shares included) is outside the band gets one stock order that
brings it to `to`, rounded to whole shares, with the numbers in its reason. The shares are
the position's (engine.hedge_book): its P&L, delta and exits include them. Closing the
position flattens them in the same tick; it is booked closed once its options and its hedge
are both done, so its realised P&L is the options' and the hedges' together, to the cent.
Hedges reduce risk: a lock that stops exits stops them too; one that stops entries does not.
A check due while the hedge's market is closed records why and sends nothing.
"""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta

from brokers.futures import front_month, root_of
from brokers.model import Intent, OrderLeg
from rulesengine.engine import orders
from rulesengine.engine.book import PositionBook
from rulesengine.engine.breakers import Gate
from rulesengine.engine.clock import NEW_YORK
from rulesengine.engine.context import TickContext
from rulesengine.engine.desk import OrderDesk
from rulesengine.engine.hedge_book import hedge_of
from rulesengine.engine.positions import Position, Status
from rulesengine.engine.pricing import structure_quote
from rulesengine.engine.record import Recorder
from rulesengine.engine.ruleset import Compiled

PURPOSE = "hedge"


class Hedger:
    def __init__(self, book: PositionBook, desk: OrderDesk, recorder: Recorder):
        self.book, self.desk, self.recorder = book, desk, recorder

    async def run(
        self, ctx: TickContext, compiled: Compiled, allowed: Gate, monitored: bool
    ) -> None:
        """Check the band where it is due, then flatten the hedges of closing positions."""
        band = compiled.program.hedge
        due = band is not None and self._due(compiled.name, band, ctx.now, monitored)
        working = self.desk.live_orders(PURPOSE)  # a position with a hedge working waits for it
        if due and allowed.exits:
            for p in self.book.open_positions(compiled.name):
                if p.status is Status.OPEN and not p.is_holding and p.id not in working:
                    await self._rebalance(ctx, compiled, p, band)
        await self.flatten(ctx, compiled, working)

    def _due(self, strategy: str, band: dict, now: datetime, monitored: bool) -> bool:
        if band["every"] is None:
            return monitored
        key = f"hedge:{strategy}"
        last = self.desk.journal.get(key)
        every = timedelta(seconds=band["every"])
        if last is not None and now - datetime.fromisoformat(last) < every:
            return False
        self.desk.journal.put(key, now.isoformat())
        return True

    async def _rebalance(self, ctx: TickContext, compiled: Compiled, p: Position, band) -> None:
        mark = self.book.marks.get(p.id)
        if mark is None or not math.isfinite(mark.delta):
            return
        symbol, per = instrument(band["using"], p.underlying, ctx.now.astimezone(NEW_YORK).date())
        for held, qty in hedge_of(p).held.items():  # a hedge future past its roll date
            if held != p.underlying and held != symbol:
                why = f"hedge roll-over: {held} -> {symbol}: close {qty:+d} {held}"
                await self._send(ctx, compiled, p, held, -qty, why)
                return  # the next check hedges in the front month
        if band["low"] <= mark.delta <= band["high"]:
            return
        units = round((band["to"] - mark.delta) / per)
        if units == 0:
            return
        side = "buy" if units > 0 else "sell"
        why = (
            f"delta {mark.delta:+.1f} outside [{band['low']:g}, {band['high']:g}]: "
            f"{side} {abs(units)} {symbol} (to {band['to']:g})"
        )
        await self._send(ctx, compiled, p, symbol, units, why)

    async def flatten(self, ctx: TickContext, compiled: Compiled, working: dict) -> None:
        """A position closing (its options' exit sent, or expired) gives up its hedge."""
        for p in self.book.positions.values():
            if p.strategy != compiled.name or p.status is not Status.CLOSING:
                continue
            partial = "partial_pending" in p.detail  # a scale-out keeps the hedge
            if partial or p.id in working:
                continue
            for symbol, qty in hedge_of(p).held.items():
                why = f"{p.exit_reason or 'closing'}: flatten the hedge's {qty:+d} {symbol}"
                await self._send(ctx, compiled, p, symbol, -qty, why)

    async def _send(
        self, ctx: TickContext, compiled: Compiled, p: Position, symbol: str, units: int, why: str
    ) -> None:
        closed = ctx.sessions.closed_reason(root_of(symbol), ctx.now)
        if closed:  # an order now would only be refused; the next check after the open hedges
            why = f"{why}; market closed for {symbol} ({closed})"
            self.recorder.decide(ctx.now, compiled, PURPOSE, p.id, "held", why)
            return
        held = hedge_of(p).held.get(symbol, 0)
        closes = held != 0 and (held > 0) != (units > 0) and abs(units) <= abs(held)
        # one share (or contract) a unit, `units` of them: every broker takes such an order
        intent = Intent.CLOSE if closes else Intent.OPEN
        legs = [OrderLeg(symbol, 1 if units > 0 else -1, intent)]
        quote = structure_quote(ctx.market, ctx.index, legs)
        if quote is None:
            self.recorder.decide(ctx.now, compiled, PURPOSE, p.id, "held", f"{why}; no price")
            return
        credit = quote.mid if quote.sells else -quote.mid
        # the position in the key: two positions hedging the same units in one tick differ
        req = orders.request(
            f"{compiled.name}|{p.id}", compiled.version, ctx.now, legs, abs(units), credit,
            p.underlying,
        )  # fmt: skip
        placed = await self.desk.send(req, PURPOSE, compiled.name, p.id, ctx.now)
        outcome = "hedging" if placed else "failed"
        detail = {"order": req.client_key, "units": units, "symbol": symbol}
        if not placed:
            why = f"{why}; order: {self.desk.rejection(req.client_key)}"
        self.recorder.decide(ctx.now, compiled, PURPOSE, p.id, outcome, why, detail)


def instrument(using: str, underlying: str, today: date) -> tuple[str, int]:
    """What hedges, and how many units of the underlying one unit of it moves like: the
    underlying's shares, or the front month of a futures root (its multiplier)."""
    if using == "underlying":
        return underlying, 1
    contract = front_month(using, today)
    return contract.symbol, contract.spec.multiplier
