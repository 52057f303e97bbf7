"""What the tick records when the book settles an expired position: the decision, and for
in-the-money equity options the shares delivered (engine.holdings), the `assignment` event,
and the scans an assignment triggers (`holdings: on_assignment: scan`) in this very tick."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from rulesengine.engine.holdings import Delivery
from rulesengine.engine.positions import Position
from rulesengine.engine.record import Recorder
from rulesengine.engine.ruleset import Compiled, RuleSet
from rulesengine.notify import events


class Settled:
    def __init__(
        self,
        recorder: Recorder,
        compiled: Callable[[str], Compiled | None],
        rules: Callable[[], RuleSet],
        now: Callable[[], datetime],
        scan_now: set[str],
    ):
        self.recorder, self.compiled, self.rules = recorder, compiled, rules
        self.now, self.scan_now = now, scan_now

    def __call__(self, p: Position, reason: str, delivered: list[Delivery]) -> None:
        compiled = self.compiled(p.strategy)
        at = p.closed_at or self.now()
        self.recorder.decide(at, compiled, "closed", p.id, "expired", reason)
        if not delivered:
            return
        said = "; ".join(d.describe() for d in delivered)
        self.recorder.decide(at, compiled, "assignment", p.id, "delivered", said)
        body = f"{p.strategy} {p.id}: {said}"
        self.recorder.notify(at, events.assignment(p.strategy, p.id, body))
        for name in self.rules().scan_on_assignment(p.strategy):
            self.scan_now.add(name)
