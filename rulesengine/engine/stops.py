"""`order: protective_stop: $150`: a resting stop order at the broker for each share or
futures position, so a loss is cut even while the engine is down.

Once a position's entry has filled, a good-till-cancelled stop order for its whole quantity
is placed where closing it loses the amount: for a long, a sell stop that many dollars
below the entry; for a short, a buy stop above. An exit the rules send first cancels it; when
it fills, the position is closed with the stop as its reason. One stop per position, never
two: a stop still live (or whose send is unconfirmed) is not placed again.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from brokers.model import Intent, OrderType, PriceEffect, TimeInForce
from brokers.pricing import quoted_stop
from brokers.ticks import order_tick, round_to_tick
from rulesengine.engine import orders
from rulesengine.engine.book import PositionBook
from rulesengine.engine.context import TickContext
from rulesengine.engine.desk import OrderDesk
from rulesengine.engine.positions import MULTIPLIER, Position, Status
from rulesengine.engine.record import Recorder
from rulesengine.engine.ruleset import Compiled

PURPOSE = "stop"


class ProtectiveStops:
    def __init__(self, book: PositionBook, desk: OrderDesk, recorder: Recorder):
        self.book, self.desk, self.recorder = book, desk, recorder

    async def run(self, ctx: TickContext, compiled: Compiled, loss: float | None) -> None:
        if loss is None:
            return
        live = self.desk.live_orders(PURPOSE)
        for p in self.book.open_positions(compiled.name):
            if p.status is Status.OPEN and not p.is_holding and p.id not in live:
                await self._place(ctx, compiled, p, loss)

    async def _place(self, ctx: TickContext, compiled: Compiled, p: Position, loss: float) -> None:
        legs = self.book.intents(orders.order_legs(p.legs, Intent.CLOSE, closing=True), p.quantity)
        if any(leg.is_option for leg in legs):
            return  # the checker allows protective stops on shares and futures only
        # the close credit per unit at which the position has lost `loss`
        trigger = -p.entry_price - loss / (MULTIPLIER * p.quantity)
        sells = p.entry_price < 0  # a long closes by selling
        price = Decimal(str(round(abs(trigger), 6)))
        tick = order_tick(legs, price)
        # on the tick toward the entry: the stop never allows more than the loss it says
        stop = max(round_to_tick(price, tick, up=sells), tick)
        base = orders.request(
            f"{compiled.name}|stop", compiled.version, ctx.now, legs, p.quantity,
            float(stop) if sells else -float(stop), p.underlying, TimeInForce.GTC,
        )  # fmt: skip
        effect = PriceEffect.CREDIT if sells else PriceEffect.DEBIT
        req = replace(base, order_type=OrderType.STOP, stop_price=stop, effect=effect)
        placed = await self.desk.send(req, PURPOSE, compiled.name, p.id, ctx.now)
        side = "sell" if sells else "buy"
        # in the instrument's own terms: dollars a share, or a futures contract's points
        why = f"protective stop ${loss:,.0f}: {side} stop at {quoted_stop(req):.2f}"
        if not placed:
            why = f"{why}; order: {self.desk.rejection(req.client_key)}"
        outcome = "placed" if placed else "failed"
        self.recorder.decide(ctx.now, compiled, PURPOSE, p.id, outcome, why)

    async def cancel_for(self, p: Position, ctx: TickContext, because: str) -> None:
        """An exit is going out: the position's stop must not fill behind it."""
        for row in self.desk.live_orders(PURPOSE).get(p.id, []):
            await self.desk.cancel(row, ctx.now, because)
