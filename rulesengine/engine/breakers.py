"""Circuit breakers: rule conditions that trip locks, and what each lock allows.

| action        | new entries | rolls          | exits | working entry orders | positions      |
|---------------|-------------|----------------|-------|----------------------|----------------|
| block_entries | no          | yes            | yes   | keep working         | kept           |
| reduce_only   | no          | fallback only  | yes   | cancelled            | kept           |
| halt          | no          | no             | no    | cancelled            | kept, watched  |
| close_all     | no          | no             | yes   | cancelled            | all closed     |
| alert         | yes         | yes            | yes   | keep working         | kept           |

`-> alert` only notifies (the `breaker` event, through `notify:`): its "lock" is a quiet
period, so the same breaker does not alert again until it lifts and the values that tripped it
change.

A lock has a reason, a start and an unlock time (`-> halt for 30m`; without `for`, the next
session's open); locks live in the journal, so they survive restarts; `rules unlock NAME` lifts
one by hand. The kill switch is a lock too: `rules kill` or a file named KILL in the data dir.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from rulesengine.check.program import Checked, FieldRef
from rulesengine.engine.journal import Lock, stable_id
from rulesengine.engine.marks import ScalarView
from rulesengine.engine.ruleset import Compiled
from rulesengine.engine.sessions import Sessions
from rulesengine.engine.tally import ClauseTally
from rulesengine.language import ast
from rulesengine.runtime.evaluate import Evaluator

SEVERITY = {"alert": 0, "block_entries": 1, "reduce_only": 2, "halt": 3, "close_all": 4}
KILL_SCOPE = "kill"


@dataclass(frozen=True)
class Gate:
    """What the active locks allow for one strategy."""

    action: str | None = None  # the most severe active action
    because: str = ""  # 'breaker NAME: reason'

    @property
    def entries(self) -> bool:
        return self.action is None

    @property
    def rolls(self) -> bool:
        return self.action in {None, "block_entries"}

    @property
    def exits(self) -> bool:
        return self.action != "halt"

    @property
    def cancel_entries(self) -> bool:
        return SEVERITY.get(self.action or "", 0) >= SEVERITY["reduce_only"]

    @property
    def close_all(self) -> bool:
        return self.action == "close_all"


def gate(locks: list[Lock], strategy: str, now: datetime) -> Gate:
    relevant = [
        lock
        for lock in locks
        if lock.active(now)
        and lock.scope in {strategy, "portfolio", KILL_SCOPE}
        and SEVERITY[lock.action] > 0
    ]
    if not relevant:
        return Gate()
    worst = max(relevant, key=lambda lock: SEVERITY[lock.action])
    return Gate(worst.action, f"breaker {worst.name}: {worst.reason}")


def trips(
    rules: list[Compiled],
    scalars: Callable[[str | None], Mapping[str, float]],
    locks: list[Lock],
    now: datetime,
    sessions: Sessions,
    tally: ClauseTally | None = None,
) -> list[Lock]:
    """New locks for breakers whose condition holds and that are not already locked.

    A breaker re-arms only once the values that tripped it change: `losing_streak >= 5` does
    not lock again, day after day, on the same five losses. `scalars(strategy)` is what a
    strategy file reads (its own P&L and exposure), `scalars(None)` the account's. `tally`
    counts each evaluation for clause coverage."""
    found = []
    held = {(lock.scope, lock.name) for lock in locks if lock.active(now)}
    last_reason = {(lock.scope, lock.name): lock.reason for lock in locks}
    for compiled in rules:
        program = compiled.program
        portfolio = program.kind == "portfolio"
        scope = "portfolio" if portfolio else program.name
        values = scalars(None if portfolio else program.name)
        evaluator = Evaluator(compiled.graph, ScalarView(values))
        for name, checked in program.breakers.items():
            if (scope, name) in held:
                continue
            fired = np.asarray(evaluator.value(compiled.graph.values[f"breaker:{name}"]))
            tripped = bool(fired.reshape(-1)[0])
            if tally is not None:
                tally.add(program.file, f"breaker {name}", int(tripped), int(not tripped))
            if not tripped:
                continue
            breaker = _breaker(checked)
            reason = _reason(checked, values)
            if last_reason.get((scope, name)) == reason:
                continue
            found.append(
                Lock(
                    stable_id(scope, name, now.isoformat()),
                    scope,
                    name,
                    breaker.action,
                    reason,
                    now,
                    _until(breaker, now, sessions),
                )
            )
    return found


def kill_lock(now: datetime, reason: str, action: str = "halt") -> Lock:
    return Lock(
        stable_id(KILL_SCOPE, now.isoformat()), KILL_SCOPE, "kill_switch", action, reason, now, None
    )


def _until(breaker: ast.Breaker, now: datetime, sessions: Sessions) -> datetime | None:
    if breaker.duration_s is not None:
        return now + timedelta(seconds=breaker.duration_s)
    day = now.date()
    for ahead in range(1, 15):  # the next session's open
        session = sessions.on(day + timedelta(days=ahead))
        if session is not None:
            return session.open
    return None


def _breaker(checked: Checked) -> ast.Breaker:
    node = checked.node
    assert isinstance(node, ast.Breaker), f"{checked.label} is not a breaker"
    return node


def _reason(checked: Checked, scalars: Mapping[str, float]) -> str:
    condition = _breaker(checked).condition
    assert condition is not None, "a checked breaker has a condition"
    text = checked.clause_text(condition.span)
    names = sorted(
        {n.field.name for n in ast.walk(condition) if isinstance(n, FieldRef) and n.field}
    )
    values = ", ".join(f"{n} = {scalars.get(n, float('nan')):,.4g}" for n in names)
    return f"{text} ({values})" if values else text
