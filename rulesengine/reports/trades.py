"""One closed or opened trade as the reports read it: fills against the mid, excursions."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime

from rulesengine.engine.clock import NEW_YORK
from rulesengine.engine.positions import Position

MULTIPLIER = 100


def ny_date(stamp: str | datetime | None) -> date | None:
    if stamp is None:
        return None
    at = datetime.fromisoformat(stamp) if isinstance(stamp, str) else stamp
    return at.astimezone(NEW_YORK).date()


@dataclass(frozen=True)
class Trade:
    position: Position

    @property
    def strategy(self) -> str:
        return self.position.strategy

    @property
    def opened(self) -> date | None:
        return ny_date(self.position.opened_at)

    @property
    def closed(self) -> date | None:
        return ny_date(self.position.closed_at) if self.position.status == "closed" else None

    @property
    def realised(self) -> float:
        return float(self.position.realised_pnl or 0.0)

    def entry_slippage(self) -> float | None:
        """Dollars the entry fill gave up against the mid (negative: worse than the mid)."""
        return self._slippage("entry_fill", "entry_mid")

    def exit_slippage(self) -> float | None:
        """Dollars the exit fill gave up against the mid at the exit decision."""
        return self._slippage("exit_fill", "exit_mid")

    def _slippage(self, fill: str, mid: str) -> float | None:
        d = self.position.detail
        if fill not in d or mid not in d or d[mid] is None:
            return None
        value = (float(d[fill]) - float(d[mid])) * MULTIPLIER * self.position.quantity
        return round(value, 2) if math.isfinite(value) else None

    def mfe(self) -> float | None:
        """Maximum favourable excursion: the best open P&L the position reached."""
        value = self.position.high_water_pnl
        return None if value is None or not math.isfinite(value) else float(value)

    def mae(self) -> float | None:
        """Maximum adverse excursion: the worst open P&L the position reached."""
        value = self.position.detail.get("low_water_pnl")
        return None if value is None else float(value)

    def legs(self) -> str:
        parts = []
        for leg in self.position.legs:
            side = "sell" if leg.ratio < 0 else "buy"
            count = f"{abs(leg.ratio)} x " if abs(leg.ratio) != 1 else ""
            strike = f" {leg.strike:g}" if leg.strike else ""
            parts.append(f"{side} {count}{leg.kind}{strike} {leg.expiry or ''}".rstrip())
        return ", ".join(parts)


def exit_kind(reason: str | None) -> str:
    """`take_profit: pnl >= 50% of max_profit (pnl = 61)` -> `take_profit`."""
    if not reason:
        return "unknown"
    head = reason.split(":", 1)[0].strip()
    return head.split(" (", 1)[0] or "unknown"
