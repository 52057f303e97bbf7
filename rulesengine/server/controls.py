"""What the API's control endpoints do to a running engine. Each runs on the engine's event
loop under the tick lock, so it lands between ticks; locks and close requests go through the
journal like `rules kill` and `rules unlock`, so they survive a restart."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from rulesengine.engine.breakers import kill_lock
from rulesengine.engine.journal import Lock, stable_id
from rulesengine.engine.loop import Engine
from rulesengine.engine.reload import Reloader

PAUSE = "api_pause"


class ControlError(Exception):
    """A control request that cannot be done; the message says why (HTTP 404 or 409)."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


@dataclass
class EngineControls:
    engine: Engine
    reloader: Reloader

    def _now(self) -> datetime:
        return self.engine.clock.now()

    async def pause(self, reason: str) -> dict[str, Any]:
        """Block new entries (exits and rolls go on) until resumed."""
        async with self.reloader.lock:
            now = self._now()
            why = f"paused through the API: {reason}"
            lock = Lock(
                stable_id("portfolio", PAUSE, now),
                "portfolio",
                PAUSE,
                "block_entries",
                why,
                now,
                None,
            )
            self.engine.journal.save_lock(lock)
            self.engine.alert(now, "warning", f"entries paused through the API: {reason}")
            self.engine.journal.commit()
        return {"paused": True, "reason": why}

    async def resume(self) -> dict[str, Any]:
        return {"resumed": [lock["name"] for lock in await self.unlock(PAUSE)]}

    async def kill(self, close_all: bool, reason: str) -> dict[str, Any]:
        action = "close_all" if close_all else "halt"
        async with self.reloader.lock:
            now = self._now()
            self.engine.journal.save_lock(kill_lock(now, f"API: {reason}", action))
            self.engine.alert(
                now, "breaker", f"kill switch on through the API ({action}): {reason}", "critical"
            )
            self.engine.journal.commit()
        return {"kill_switch": action}

    async def unlock(self, name: str) -> list[dict[str, Any]]:
        async with self.reloader.lock:
            lifted = self.engine.journal.lift(name, self._now(), "api")
        if not lifted:
            raise ControlError(404, f"no lock called {name!r} is held")
        return [{"scope": lock.scope, "name": lock.name, "action": lock.action} for lock in lifted]

    async def close(self, position_id: str, reason: str) -> dict[str, Any]:
        """Close a position at the next tick (at its mark, walked as any exit)."""
        async with self.reloader.lock:
            p = self.engine.book.positions.get(position_id)
            if p is None or not p.is_open:
                raise ControlError(404, f"no open position {position_id!r}")
            if p.status.value != "open":
                raise ControlError(409, f"{position_id} is {p.status.value}: nothing to close yet")
            p.detail["close_requested"] = f"API: {reason}"
            self.engine.book.save(p)
            self.engine.journal.commit()
        return {"position": position_id, "close": "at the next tick"}

    async def reload(self) -> dict[str, Any]:
        active = await self.reloader.attempt()
        report = self.reloader.last_report
        return {"active": active, "version": self.engine.rules.version, "report": report}

    async def scan(self, strategy: str | None) -> dict[str, Any]:
        names = list(self.engine.rules.strategies) if strategy is None else [strategy]
        unknown = [n for n in names if n not in self.engine.rules.strategies]
        if unknown:
            raise ControlError(404, f"no strategy {unknown[0]!r}")
        self.engine.scan_now.update(names)
        return {"scan": names, "when": "at the next tick"}
