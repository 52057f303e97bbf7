"""What a strategy's held positions go through every tick, in this order:

    retries         entries and exits the broker refused, sent again when due (engine.retries)
    enforce         what locks impose, and closes asked for by hand (engine.exits)
    roll-over       futures past their roll date move to the front month (engine.rollover)
    monitor         exits and rolls, where the monitor is due (engine.exits)
    hedge           the delta band, where it is due (engine.hedging)
    stops           protective stops for positions that have none (engine.stops), again
                    after the tick's entries
"""

from __future__ import annotations

from collections.abc import Callable

from rulesengine.engine.book import PositionBook
from rulesengine.engine.breakers import Gate
from rulesengine.engine.context import TickContext
from rulesengine.engine.desk import OrderDesk
from rulesengine.engine.exits import Exits
from rulesengine.engine.hedging import Hedger
from rulesengine.engine.policy import OrderPolicy
from rulesengine.engine.record import Recorder
from rulesengine.engine.retries import EntryRetries
from rulesengine.engine.rollover import RollOver
from rulesengine.engine.ruleset import Compiled
from rulesengine.engine.stops import ProtectiveStops


class HeldPositions:
    def __init__(
        self,
        book: PositionBook,
        desk: OrderDesk,
        recorder: Recorder,
        exits: Exits,
        policy: Callable[[str], OrderPolicy],
    ):
        self.exits, self.policy = exits, policy
        self.entry_retries = EntryRetries(book, desk, recorder)
        self.roll_over = RollOver(book, exits, recorder)
        self.hedger = Hedger(book, desk, recorder)
        self.stops = ProtectiveStops(book, desk, recorder)
        exits.before_exit = self.stops.cancel_for  # an exit cancels the position's stop

    async def tick(
        self, ctx: TickContext, compiled: Compiled, allowed: Gate, monitored: bool
    ) -> None:
        """One strategy's held positions this tick (`monitored`: its monitor is due)."""
        name = compiled.name
        await self.entry_retries.run(ctx, compiled, self.policy(name), allowed)
        await self.exits.retry_due(ctx, name)
        await self.exits.enforce(ctx, name, allowed)
        await self.roll_over.run(ctx, compiled, allowed)
        if monitored:
            await self.exits.monitor(ctx, compiled, allowed)
        await self.hedger.run(ctx, compiled, allowed, monitored)
        await self.stops.run(ctx, compiled, self.policy(name).protective_stop)

    async def after_entries(self, ctx: TickContext, compiled: Compiled) -> None:
        """An entry filled at once (a market order) gets its protective stop this tick."""
        await self.stops.run(ctx, compiled, self.policy(compiled.name).protective_stop)
