"""Choosing among a sweep's variants: constraints (`--require trades>=30`,
`--require max_drawdown<=10%`), ranking by a metric within them, and searching a grid
(`--search random:20:7`: 20 of its points, seed 7; `--search bayes:20` in backtest/search.py).

A variant that fails a constraint ranks after every variant that meets them all (with the
constraint it failed), before variants without a value and failed variants: a drawdown
ceiling with Sharpe ranking is `--rank sharpe --require max_drawdown<=15%`."""

from __future__ import annotations

import math
import operator
import random
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")
LOWER_IS_BETTER = frozenset({"max_drawdown", "max_drawdown_days"})
_OPS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    "<=": operator.le,
    ">": operator.gt,
    "<": operator.lt,
    "==": operator.eq,
}


class SelectionError(ValueError):
    """A constraint or search the command cannot take; the message says what to write."""


@dataclass(frozen=True)
class Constraint:
    metric: str
    op: str
    value: float
    text: str

    def holds(self, result: dict) -> bool:
        found = result.get(self.metric)
        return (
            isinstance(found, int | float)
            and not math.isnan(found)
            and (_OPS[self.op](float(found), self.value))
        )


def parse_constraint(text: str, metrics: Iterable[str]) -> Constraint:
    found = re.fullmatch(r"\s*([a-z_]+)\s*(>=|<=|==|>|<)\s*(-?\d+(?:\.\d+)?)(%?)\s*", text)
    known = sorted(metrics)
    if found is None:
        raise SelectionError(
            f"--require {text}: write METRIC OP NUMBER, e.g. trades>=30 or max_drawdown<=10%"
        )
    metric, op, number, percent = found.groups()
    if metric not in known:
        raise SelectionError(f"--require {text}: no metric {metric!r}; one of: {', '.join(known)}")
    value = float(number) / (100.0 if percent else 1.0)
    return Constraint(metric, op, value, text.strip())


def rank(results: Iterable[dict], by: str, constraints: Sequence[Constraint] = ()) -> list[dict]:
    """Best first by `by` among variants meeting every constraint; then those failing one
    (each marked with `failed` constraints), those without a value (no trades: NaN), and
    variants that errored, last."""
    sign = 1.0 if by in LOWER_IS_BETTER else -1.0
    ranked = []
    for result in results:
        failed = [c.text for c in constraints if "error" not in result and not c.holds(result)]
        ranked.append({**result, "failed": failed} if failed else result)

    def key(r: dict) -> tuple[int, float, str]:
        # ties (equal metrics) go by label: the same ranking whatever order results came in
        value, label = r.get(by), str(r.get("label", ""))
        if "error" in r:
            return 3, 0.0, label
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return 2, 0.0, label
        return (1 if r.get("failed") else 0), sign * float(value), label

    return sorted(ranked, key=key)


def best(results: Iterable[dict], by: str, constraints: Sequence[Constraint] = ()) -> dict | None:
    """The top variant meeting every constraint with a value, or None."""
    for result in rank(results, by, constraints):
        usable = "error" not in result and not result.get("failed")
        value = result.get(by)
        if usable and isinstance(value, int | float) and not math.isnan(value):
            return result
    return None


@dataclass(frozen=True)
class Search:
    kind: str  # 'random' | 'bayes'
    trials: int
    seed: int


def parse_search(text: str | None) -> Search | None:
    """`random:N[:SEED]` or `bayes:N[:SEED]`; None for the whole grid."""
    if text is None or text == "grid":
        return None
    found = re.fullmatch(r"(random|bayes):(\d+)(?::(\d+))?", text.strip())
    if found is None or int(found.group(2)) < 1:
        raise SelectionError(
            f"--search {text}: write grid, random:N[:SEED] (N points of the grid) or "
            "bayes:N[:SEED] (N trials chosen by Optuna's TPE), e.g. random:20:7"
        )
    return Search(found.group(1), int(found.group(2)), int(found.group(3) or 0))


def sample(points: Sequence[T], count: int, seed: int) -> list[T]:
    """`count` points of the grid without repetition, in grid order, the same for a seed."""
    if count >= len(points):
        return list(points)
    chosen = sorted(random.Random(seed).sample(range(len(points)), count))
    return [points[i] for i in chosen]
