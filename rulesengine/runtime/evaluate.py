"""evaluate(graph, node, view): vectorised evaluation with memoised shared nodes, and filters
that count survivors per clause (the funnel) and compute later clauses on survivors only."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rulesengine.compile.graph import Clause, Graph
from rulesengine.compile.ops import apply
from rulesengine.runtime.indicators import series_value
from rulesengine.runtime.view import Fields, View

# Once a filter keeps at most this share of rows, later clauses run on the survivors only.
COMPRESS_BELOW = 0.3
# A row a comparison rejects within this share of its threshold is a near miss (for reviews).
NEAR = 0.10
COMPARISONS = {"lt", "le", "gt", "ge", "between"}


@dataclass(frozen=True)
class FunnelStep:
    stage: str  # 'leg:short', 'entry', ...
    label: str  # the clause as written
    origin: str
    rows_in: int
    rows_out: int
    near: int = 0  # rows it rejected within NEAR of its threshold (comparisons only)


class Evaluator:
    """Evaluates nodes of one graph over one view, computing each shared node once."""

    def __init__(self, graph: Graph, view: Fields):
        self.graph = graph
        self.view = view
        self.memo: dict[int, np.ndarray] = {}

    def value(self, node_id: int) -> np.ndarray:
        cached = self.memo.get(node_id)
        if cached is not None:
            return cached
        node = self.graph.nodes[node_id]
        if node.op == "const":
            result = np.asarray(node.value)
        elif node.op == "field":
            leg, name = node.field_ref
            result = self.view.field(leg, name)
        elif node.op == "series":
            result = series_value(self.view, node.series)
        else:
            with np.errstate(all="ignore"):
                result = apply(node.op, [self.value(a) for a in node.args])
        self.memo[node_id] = result
        return result

    def mask(self, node_id: int) -> np.ndarray:
        result = np.asarray(self.value(node_id), dtype=bool)
        return np.broadcast_to(result, (self.view.n,)) if result.ndim == 0 else result

    def narrowed(self, keep: np.ndarray) -> Evaluator:
        """An evaluator over a subset of rows that reuses every column already computed."""
        if not isinstance(self.view, View):
            raise TypeError("only a scan's View can be narrowed to its survivors")
        child = Evaluator(self.graph, self.view.subset(keep))
        for node_id, value in self.memo.items():
            child.memo[node_id] = value[keep] if np.ndim(value) == 1 else value
        return child


def run_filter(
    graph: Graph,
    clauses: tuple[Clause, ...],
    view: View,
    stage: str,
    funnel: list[FunnelStep] | None = None,
) -> tuple[np.ndarray, Evaluator]:
    """Positions (into `view`) of the rows that pass every clause, and the evaluator used."""
    evaluator = Evaluator(graph, view)
    rows = np.arange(view.n)
    alive: np.ndarray | None = None  # mask over the evaluator's rows, None: all alive
    count = view.n
    for clause in clauses:
        before = count
        passed = evaluator.mask(clause.node)
        near = near_misses(evaluator, clause.node, passed, alive) if funnel is not None else 0
        alive = passed if alive is None else alive & passed
        count = int(np.count_nonzero(alive))
        if funnel is not None:
            funnel.append(FunnelStep(stage, clause.label, clause.origin, before, count, near))
        if count <= COMPRESS_BELOW * evaluator.view.n:
            keep = np.flatnonzero(alive)
            rows = rows[keep]
            evaluator = evaluator.narrowed(keep)
            alive = None
        if count == 0:
            break
    if alive is not None:
        keep = np.flatnonzero(alive)
        rows = rows[keep]
        evaluator = evaluator.narrowed(keep)
    return rows, evaluator


def near_misses(
    evaluator: Evaluator, node_id: int, passed: np.ndarray, alive: np.ndarray | None
) -> int:
    """Rows still alive that a comparison rejects by less than NEAR of its threshold:
    `credit >= 0.50` failing at 0.46, `delta between -0.30 and -0.20` at -0.31."""
    node = evaluator.graph.nodes[node_id]
    if node.op not in COMPARISONS:
        return 0
    values = [np.asarray(evaluator.value(a), dtype=float) for a in node.args]
    with np.errstate(invalid="ignore"):
        if node.op == "between":
            x, low, high = values
            budget = NEAR * np.abs(high - low)
            close = np.maximum(low - x, x - high) <= budget
        else:
            left, right = values
            budget = NEAR * np.abs(right)
            close = np.abs(left - right) <= budget
        close &= budget > 0  # `bid > 0` has no "close": a zero bid is simply none
    failed = ~passed if alive is None else alive & ~passed
    close = np.broadcast_to(close, failed.shape)
    return int(np.count_nonzero(failed & close))
