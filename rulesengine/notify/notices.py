"""The engine's side of notifications: an event becomes one outbox row per channel routed."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from rulesengine.check.program import Channel, Program
from rulesengine.notify.events import Event, Routes
from rulesengine.notify.outbox import Outbox


class Notices:
    def __init__(self, outbox: Outbox, routes: Routes):
        self.outbox = outbox
        self.routes = routes

    def queue(self, at: datetime, event: Event | None) -> int:
        """Queue `event` for each channel that wants it (in the caller's transaction)."""
        if event is None:
            return 0
        return sum(self.outbox.queue(name, event, at) for name in self.routes.to(event))


def channels_of(programs: Iterable[Program]) -> list[Channel]:
    """The channels of the portfolio files, in file order."""
    return [c for p in programs if p.kind == "portfolio" for c in p.notify.values()]
