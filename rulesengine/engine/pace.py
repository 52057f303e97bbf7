"""Pacing a replay or a synthetic feed against the wall clock: `--speed 60` runs 60 market
seconds per real second (a 1-minute tick every second), `--speed 1` is real time, `max` does
not wait. Every pace point yields to the event loop, so hot reloads land between ticks even
at full speed."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime


class SpeedError(ValueError):
    pass


def parse_speed(text: str | None, default: float | None) -> float | None:
    """A speed factor from `--speed` (None: as fast as possible)."""
    if text is None:
        return default
    if text.strip().lower() == "max":
        return None
    try:
        speed = float(text)
    except ValueError:
        speed = 0.0
    if not speed > 0 or speed != speed or speed == float("inf"):
        raise SpeedError(f"--speed {text}: use a positive number (60 = a minute per second) or max")
    return speed


class Pacer:
    """Awaited before each snapshot: waits until `interval / speed` real seconds have passed
    since the previous one (drift-free: a slow tick shortens the next wait)."""

    def __init__(self, speed: float | None, interval_s: float):
        self.speed = speed
        self.interval_s = interval_s
        self._due: float | None = None

    async def __call__(self, when: datetime) -> None:
        if self.speed is None:
            await asyncio.sleep(0)
            return
        now = time.monotonic()
        if self._due is None:
            self._due = now
        delay = self._due - now
        await asyncio.sleep(max(delay, 0.0))
        self._due = max(self._due, time.monotonic() - self.interval_s / self.speed)
        self._due += self.interval_s / self.speed
