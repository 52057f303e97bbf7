"""Start-up reconciliation: the journal's view of orders and positions against the broker's.

- Orders the journal committed but never heard back about are looked up by idempotency key:
  found, they are followed; not found, they stay `unknown` and are looked up on every sync for
  the adapter's lookup window (a broker may process a request late), then marked `not_sent`
  (the key is never reused).
- Holdings the journal expects are compared with the broker's positions, symbol by symbol.
  A position whose legs no longer match is *flagged* (kept, shown, not traded by rules); a
  holding nobody opened is *adopted* into a position of the pseudo-strategy `adopted`.
  Either way an alert says what changed; nothing is silently ignored.
"""

from __future__ import annotations

from datetime import datetime

from brokers.errors import BrokerError
from brokers.occ import is_option_symbol, parse_occ, underlying_of
from rulesengine.engine.journal import stable_id
from rulesengine.engine.loop import Engine
from rulesengine.engine.positions import Position, PositionLeg, Status


async def reconcile(engine: Engine, now: datetime) -> list[str]:
    """Bring the journal in line with the broker; returns what was found, for the console."""
    notes: list[str] = []
    await engine.sync_orders()
    try:
        held = {p.symbol: p.quantity for p in await engine.broker.positions()}
    except BrokerError as error:
        engine.alert(now, "error", f"reconcile: cannot read positions from the broker: {error}")
        return [f"positions not reconciled: {error}"]
    expected: dict[str, int] = {}
    for p in engine.open_positions():
        for symbol, qty in p.holdings().items():
            expected[symbol] = expected.get(symbol, 0) + qty
    for p in engine.open_positions():
        drifted = [
            f"{s.strip()} journal {expected.get(s, 0):+d}, broker {held.get(s, 0):+d}"
            for s in p.holdings()
            if held.get(s, 0) != expected.get(s, 0)
        ]
        if drifted and p.status is not Status.FLAGGED and not _expired(p, now):
            p.flag("; ".join(drifted))
            engine.journal.save_position(p)
            message = f"{p.id} ({p.strategy}) changed at the broker: {'; '.join(drifted)}"
            engine.alert(now, "reconcile", message + ". Flagged: rules no longer trade it")
            notes.append(message)
    strangers = {s: q for s, q in held.items() if q and s not in expected}
    if strangers:
        adopted = _adopt(strangers, now)
        engine.positions[adopted.id] = adopted
        engine.journal.save_position(adopted)
        listed = ", ".join(f"{q:+d} {s.strip()}" for s, q in sorted(strangers.items()))
        engine.alert(
            now,
            "reconcile",
            f"adopted holdings opened outside the engine as {adopted.id}: {listed}",
        )
        notes.append(f"adopted {listed}")
    engine.journal.commit()
    return notes


def _expired(p: Position, now: datetime) -> bool:
    return bool(p.expiry) and p.expiry < now.date().isoformat()


def _adopt(holdings: dict[str, int], now: datetime) -> Position:
    legs = []
    for symbol, qty in sorted(holdings.items()):
        if is_option_symbol(symbol):
            c = parse_occ(symbol)
            kind = "call" if c.is_call else "put"
            legs.append(
                PositionLeg(
                    symbol.strip(), symbol, qty, kind, float(c.strike), c.expiry.isoformat()
                )
            )
        else:
            legs.append(PositionLeg(symbol, symbol, qty, "stock"))
    first = next(iter(holdings))
    return Position(
        id="p-" + stable_id("adopted", *sorted(holdings.items()))[:8],
        strategy="adopted",
        version="",
        underlying=underlying_of(first) if is_option_symbol(first) else first,
        legs=legs,
        opened_at=now,
        entry_key="",
        quantity=1,
        ordered=1,
        status=Status.FLAGGED,
        detail={"flagged": "opened outside the engine; not traded by any rule"},
    )
