"""Which engine happenings are notification events, their severity, and who receives them.

Events come from the journal's decisions and alerts, so everything notified is also in the
journal with its reason. Routing reads the portfolio files' `notify:` channels."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from rulesengine.check.notify import EVENTS
from rulesengine.check.program import Channel

SEVERITIES = ("info", "warning", "critical")
RANK = {name: n for n, name in enumerate(SEVERITIES)}

# the alert levels the engine writes, as events
ALERT_EVENTS = {
    "breaker": "breaker",
    "reload": "reload",
    "error": "broker_error",
    "reconcile": "reconcile",
    "warning": "warning",
}
DEFAULT_SEVERITY = {
    "entry": "info",
    "fill": "info",
    "exit": "info",
    "closed": "info",
    "roll": "info",
    "report": "info",
    "assignment": "warning",
    "breaker": "warning",
    "reload": "warning",
    "broker_error": "warning",
    "reconcile": "warning",
    "warning": "warning",
}
assert set(DEFAULT_SEVERITY) == set(EVENTS), "every event has a default severity"


@dataclass(frozen=True)
class Event:
    name: str  # one of EVENTS
    severity: str
    title: str
    body: str
    key: str  # what makes this event itself (a re-run tick queues it once)


def from_decision(
    strategy: str,
    kind: str,
    subject: str,
    outcome: str,
    reason: str,
    detail: Mapping[str, Any] | None = None,
) -> Event | None:
    """The event a decision is, if any: entries, exit and roll orders, closed positions."""
    name = DECISION_EVENTS.get((kind, outcome)) or ("closed" if kind == "closed" else None)
    if name is None:
        return None
    detail = detail or {}
    shown = str(detail.get("position") or subject)  # an entry's position, not its candidate
    title = f"{strategy}: {name} {shown}" + (f" ({outcome})" if name == "closed" else "")
    legs = _legs(detail.get("candidate") or {})
    body = f"{legs}: {reason}" if legs else reason
    return _event(name, title, body, kind, subject)


def _legs(candidate: Mapping[str, Any]) -> str:
    """`sell SPX 2011-02-18 1215 put, buy SPX 2011-02-18 1210 put` from a candidate record."""
    parts = []
    for leg in candidate.get("legs") or ():
        symbol = str(leg.get("symbol", "")).split()[0] if leg.get("symbol") else ""
        count = int(leg.get("count") or 1)
        size = f"{count} x " if count != 1 else ""
        parts.append(
            f"{leg.get('side', '?')} {size}{symbol} {leg.get('expiry', '')} "
            f"{leg.get('strike', 0):g} {leg.get('kind', '')}".replace("  ", " ")
        )
    return ", ".join(parts)


DECISION_EVENTS = {
    ("candidate", "entered"): "entry",
    ("exit", "closing"): "exit",
    ("roll", "rolling"): "roll",
}


def from_alert(level: str, message: str, severity: str | None = None) -> Event:
    name = ALERT_EVENTS.get(level, "warning")
    title = message.split(": ", 1)[0][:100]
    return Event(name, severity or DEFAULT_SEVERITY[name], title, message, level)


def assignment(strategy: str, position_id: str, body: str) -> Event:
    return _event("assignment", f"{strategy}: {position_id} assigned at expiry", body, position_id)


def fill(strategy: str, order_key: str, purpose: str, filled: int, of: int, price: str) -> Event:
    title = f"{strategy}: {purpose} filled {filled} of {of}"
    body = f"order {order_key} ({purpose}) filled {filled} of {of} at an average {price}"
    return _event("fill", title, body, "fill", f"{order_key}:{filled}")


def _event(name: str, title: str, body: str, *key: str) -> Event:
    return Event(name, DEFAULT_SEVERITY[name], title, body, ":".join(key))


@dataclass(frozen=True)
class Routes:
    """Which channels receive an event: those naming it, at or above their severity."""

    channels: tuple[Channel, ...] = ()

    @classmethod
    def of(cls, channels: Iterable[Channel]) -> Routes:
        return cls(tuple(channels))

    def to(self, event: Event) -> list[str]:
        return [
            c.name
            for c in self.channels
            if event.name in c.events and RANK[event.severity] >= RANK[c.severity]
        ]
