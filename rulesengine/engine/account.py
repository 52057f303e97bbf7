"""The portfolio scalars rules read (net_liq, day_pnl, drawdown, streaks, heat, greeks, VIX,
time of day...), from the broker's account, the journal and the market snapshot."""

from __future__ import annotations

from datetime import datetime

import numpy as np

from rulesengine.check.names import ENUMS
from rulesengine.data.chain import Chain, to_seconds
from rulesengine.engine.clock import NEW_YORK
from rulesengine.engine.journal import Journal
from rulesengine.engine.positions import Position
from rulesengine.engine.sessions import Sessions


def streaks(closed: list[Position]) -> tuple[int, int]:
    """(losing, winning) streaks of the most recent closed trades."""
    ordered = sorted(
        (p for p in closed if p.realised_pnl is not None and p.closed_at is not None),
        key=lambda p: (p.closed_at, p.id),
    )
    losing = winning = 0
    for p in reversed(ordered):
        if p.realised_pnl > 0:
            if losing:
                break
            winning += 1
        else:
            if winning:
                break
            losing += 1
    return losing, winning


def period_start(journal: Journal, key: str, net_liq: float, now: datetime) -> float:
    """Net liq at the start of a period (day or week): the last snapshot before it, else now."""
    stored = journal.get(key)
    if stored is not None:
        return float(stored)
    before = journal.net_liq_before(now)
    value = before if before is not None else net_liq
    journal.put(key, repr(value))
    return value


def time_scalars(now: datetime, sessions: Sessions) -> dict[str, float]:
    local = now.astimezone(NEW_YORK)
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return {
        "minutes_to_close": sessions.minutes_to_close(local),
        "time": (local - midnight).total_seconds(),
        "today": to_seconds(local.date()),
        "weekday": float(ENUMS["weekday"].index(local.strftime("%a").lower())),
    }


def vix(chain: Chain | None, now: datetime) -> float:
    bars = chain.bars.get("VIX") if chain is not None else None
    if bars is None or not len(bars.dates):
        return float("nan")
    upto = bars.until(to_seconds(now.astimezone(NEW_YORK).date()))
    return float(upto.close[-1]) if len(upto.close) else float("nan")


def exposure(positions: list[Position], marks: dict[str, dict[str, float]]) -> dict[str, float]:
    """Heat numerator and net greeks of open positions, from their latest marks."""
    max_loss = sum(p.max_loss * p.quantity for p in positions)
    delta = sum(marks.get(p.id, {}).get("delta", 0.0) for p in positions)
    vega = sum(marks.get(p.id, {}).get("vega", 0.0) for p in positions)
    return {
        "max_loss": float(max_loss),
        "delta": float(np.nan_to_num(delta)),
        "vega": float(np.nan_to_num(vega)),
    }
