"""Select each leg's contracts and join legs into structures, vectorised.

Equality joins (`expiry == short.expiry`, `strike == short.strike - 5`) and one range join per
leg (`strike < short.strike`) become integer keys matched with sort + searchsorted, so a join
costs O((n + m) log m) and never loops over pairs in Python. Legs of one structure always share
their underlying. Conditions that fit neither shape run on the joined pairs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rulesengine.check.names import ENUMS
from rulesengine.check.program import Leg
from rulesengine.compile.graph import Clause, Graph
from rulesengine.data import sanity
from rulesengine.runtime.evaluate import Evaluator, FunnelStep, run_filter
from rulesengine.runtime.view import View, leg_rows, with_own

MAX_PAIRS = 5_000_000
_DENSE_ABOVE = 2**31
_RANGE_OPS = {"lt", "le", "gt", "ge"}
_FLIP = {"lt": "gt", "le": "ge", "gt": "lt", "ge": "le"}


class JoinTooLarge(Exception):
    """A leg join would build more candidate structures than fit in memory."""


@dataclass
class Selection:
    """Candidate structures so far: one chain-row array per leg, all the same length."""

    rows: dict[str, np.ndarray]

    @property
    def n(self) -> int:
        return len(next(iter(self.rows.values()))) if self.rows else 0

    def take(self, positions: np.ndarray) -> Selection:
        return Selection({leg: rows[positions] for leg, rows in self.rows.items()})


@dataclass(frozen=True)
class JoinPlan:
    equal: list[tuple[str, int]]  # (own column, node over earlier legs)
    range_column: str | None
    range_bounds: list[tuple[str, int]]  # (op, node over earlier legs): own column op value
    residual: list[Clause]
    join_clauses: list[Clause]


def plan_join(graph: Graph, clauses: tuple[Clause, ...]) -> tuple[list[Clause], JoinPlan]:
    """Split a leg's clauses into local ones (own row only) and the join with earlier legs."""
    memo: dict[int, frozenset] = {}
    local, equal, bounds, residual, joins = [], [], [], [], []
    range_column: str | None = None

    def own_field(node_id: int) -> str | None:
        node = graph.nodes[node_id]
        if node.op != "field":
            return None
        leg, name = node.field_ref
        return name if leg is None else None

    def others_only(node_id: int) -> bool:
        used = graph.legs_used(node_id, memo)
        return bool(used) and None not in used

    def oriented(node) -> tuple[str, str, int] | None:
        """`own_column op <earlier legs>` for a comparison written either way round."""
        a, b = (*node.args, None, None)[:2]
        if node.op not in _RANGE_OPS | {"eq"} or a is None or b is None:
            return None
        column_a, column_b = own_field(a), own_field(b)
        if column_a and others_only(b):
            return column_a, node.op, b
        if column_b and others_only(a):
            return column_b, _FLIP.get(node.op, node.op), a
        return None

    for clause in clauses:
        used = graph.legs_used(clause.node, memo)
        if used <= {None}:
            local.append(clause)
            continue
        node = graph.nodes[clause.node]
        shape = oriented(node)
        if shape is not None and shape[1] == "eq":
            equal.append((shape[0], shape[2]))
        elif shape is not None and range_column in (None, shape[0]):
            range_column = shape[0]
            bounds.append((shape[1], shape[2]))
        elif (
            node.op == "between"
            and own_field(node.args[0])
            and all(others_only(x) or graph.nodes[x].op == "const" for x in node.args[1:])
            and range_column in (None, own_field(node.args[0]))
        ):
            range_column = own_field(node.args[0])
            bounds += [("ge", node.args[1]), ("le", node.args[2])]
        else:
            residual.append(clause)
            continue
        joins.append(clause)
    return local, JoinPlan(equal, range_column, bounds, residual, joins)


def _codes(*columns: np.ndarray) -> tuple[np.ndarray, int]:
    """Factorise values jointly (rounded, so strike - 5 meets strike) into integer codes."""
    values = np.concatenate([_rounded(c) for c in columns])
    unique, inverse = np.unique(values, return_inverse=True)
    return inverse.astype(np.int64), len(unique)


def _rounded(column: np.ndarray) -> np.ndarray:
    column = np.asarray(column)
    return column if column.dtype.kind in "iu" else np.round(column.astype(float), 6)


def join(
    graph: Graph, plan: JoinPlan, parents: Selection, parent_view: View, own_rows: np.ndarray, chain
) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (parent position, own chain row) that satisfy the plan's equality and range keys."""
    evaluator = Evaluator(graph, parent_view)
    n_parents, n_own = parents.n, len(own_rows)
    first_leg = next(iter(parents.rows))
    key_parent = np.zeros(n_parents, dtype=np.int64)
    key_own = np.zeros(n_own, dtype=np.int64)
    pairs_of = [
        (
            chain.column("underlying_code")[parents.rows[first_leg]],
            chain.column("underlying_code")[own_rows],
        )
    ]
    for column, node_id in plan.equal:
        target = np.broadcast_to(evaluator.value(node_id), (n_parents,))
        pairs_of.append((target, chain.column(column)[own_rows]))
    key_range = 1  # keys are in [0, key_range)
    for target, own in pairs_of:
        codes, size = _codes(target, own)
        key_parent = key_parent * size + codes[:n_parents]
        key_own = key_own * size + codes[n_parents:]
        key_range *= size
        if key_range > _DENSE_ABOVE:  # re-densify before the next product could overflow int64
            combined, key_range = _codes(key_parent, key_own)
            key_parent, key_own = combined[:n_parents], combined[n_parents:]
    # Within one equality group, order own rows by the range column (rank 0 when there is none).
    if plan.range_column is not None:
        own_values = chain.column(plan.range_column)[own_rows]
        levels = np.unique(own_values)
        rank_own = np.searchsorted(levels, own_values)
        lo = np.zeros(n_parents, dtype=np.int64)
        hi = np.full(n_parents, len(levels), dtype=np.int64)
        for op, node_id in plan.range_bounds:
            bound = np.broadcast_to(evaluator.value(node_id), (n_parents,))
            if op in {"gt", "ge"}:
                lo = np.maximum(
                    lo, np.searchsorted(levels, bound, side="right" if op == "gt" else "left")
                )
            else:
                hi = np.minimum(
                    hi, np.searchsorted(levels, bound, side="left" if op == "lt" else "right")
                )
        width = len(levels) + 1
    else:
        rank_own = np.zeros(n_own, dtype=np.int64)
        lo, hi, width = np.zeros(n_parents, dtype=np.int64), np.ones(n_parents, dtype=np.int64), 2
    sort_key = key_own * width + rank_own
    order = np.argsort(sort_key, kind="stable")
    sorted_keys = sort_key[order]
    start = np.searchsorted(sorted_keys, key_parent * width + lo, side="left")
    end = np.searchsorted(sorted_keys, key_parent * width + np.maximum(hi, lo), side="left")
    counts = end - start
    total = int(counts.sum())
    if total > MAX_PAIRS:
        raise JoinTooLarge(f"this leg would pair into {total:,} candidates (limit {MAX_PAIRS:,})")
    parent_pos = np.repeat(np.arange(n_parents), counts)
    offsets = np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)
    own_pos = order[np.repeat(start, counts) + offsets]
    return parent_pos, own_rows[own_pos]


def keep_best(score: np.ndarray, groups: np.ndarray, keep: int) -> np.ndarray:
    """Positions of the `keep` lowest finite scores in each group (ties: first row wins)."""
    order = np.lexsort((score, groups))
    order = order[np.isfinite(score[order])]
    g = groups[order]
    first = np.r_[True, g[1:] != g[:-1]] if len(g) else np.zeros(0, bool)
    group_start = (
        np.maximum.accumulate(np.where(first, np.arange(len(g)), 0)) if len(g) else np.zeros(0, int)
    )
    rank = np.arange(len(g)) - group_start
    return np.sort(order[rank < keep])


def _prefer(graph: Graph, leg: Leg, view: View, groups: np.ndarray) -> np.ndarray:
    prefer = leg.prefer
    assert prefer is not None, "only legs with a prefer clause are ranked"
    evaluator = Evaluator(graph, view)
    key = np.broadcast_to(
        evaluator.value(graph.values[f"prefer:{leg.name}:key"]), (view.n,)
    ).astype(float)
    if prefer.mode == "nearest":
        target = evaluator.value(graph.values[f"prefer:{leg.name}:target"])
        score = np.abs(key - target)
    else:
        score = -key if prefer.mode == "highest" else key
    return keep_best(score, groups, prefer.keep)


def select(
    graph: Graph,
    legs: list[Leg],
    chain,
    eligible: np.ndarray,
    scalars,
    funnel: list[FunnelStep],
    missing: set[str] | None = None,
) -> Selection:
    """Every leg in order: candidates, local filter, join with the legs above, prefer."""
    selection: Selection | None = None
    type_column = chain.column("type")
    problems = chain.column("quote_problem")
    for leg in legs:
        stage = f"leg:{leg.name}"
        if leg.kind == "stock":
            codes = chain.column("underlying_code")[eligible]
            own = eligible[np.unique(codes, return_index=True)[1]]
        else:
            code = ENUMS["option_type"].index(leg.kind)
            is_kind = eligible[type_column[eligible] == code]
            funnel.append(
                FunnelStep(stage, f"is a {leg.kind}", "legs", len(eligible), len(is_kind))
            )
            own = is_kind
            for code, label in sanity.STEPS:  # a rejected quote is counted under its reason
                kept = own[problems[own] != code]
                if len(kept) < len(own) or code == sanity.NO_QUOTE:
                    funnel.append(FunnelStep(stage, label, "data", len(own), len(kept)))
                own = kept
        clauses = graph.filters.get(stage, ())
        local, plan = plan_join(graph, clauses)
        positions, _ = run_filter(
            graph,
            tuple(local),
            View(chain, {None: own}, len(own), scalars=scalars, missing=missing),
            stage,
            funnel,
        )
        own = own[positions]
        if selection is None:
            selection = Selection({leg.name: own})
            pair_view = View(
                chain, {None: own, leg.name: own}, len(own), scalars=scalars, missing=missing
            )
            groups = _group_codes(chain.column("underlying_code")[own], chain.column("expiry")[own])
        else:
            parent_view = View(
                chain, leg_rows(selection.rows), selection.n, scalars=scalars, missing=missing
            )
            parent_pos, own_rows = join(graph, plan, selection, parent_view, own, chain)
            if plan.join_clauses:
                label = " and ".join(c.label for c in plan.join_clauses)
                funnel.append(
                    FunnelStep(stage, f"join: {label}", "legs", selection.n, len(own_rows))
                )
            distinct = np.ones(len(own_rows), bool)
            for rows in selection.rows.values():
                distinct &= rows[parent_pos] != own_rows
            parent_pos, own_rows = parent_pos[distinct], own_rows[distinct]
            selection = Selection(
                {**{k: v[parent_pos] for k, v in selection.rows.items()}, leg.name: own_rows}
            )
            pair_view = View(
                chain,
                with_own(own_rows, selection.rows),
                selection.n,
                scalars=scalars,
                missing=missing,
            )
            if plan.residual:
                positions, _ = run_filter(graph, tuple(plan.residual), pair_view, stage, funnel)
                selection = selection.take(positions)
                parent_pos = parent_pos[positions]
                pair_view = View(
                    chain,
                    with_own(selection.rows[leg.name], selection.rows),
                    selection.n,
                    scalars=scalars,
                    missing=missing,
                )
            groups = parent_pos
        if leg.prefer is not None and selection.n:
            before = selection.n
            best = _prefer(graph, leg, pair_view, groups)
            selection = selection.take(best)
            funnel.append(
                FunnelStep(stage, f"prefer: {leg.prefer_text}", "legs", before, selection.n)
            )
    return selection or Selection({})


def _group_codes(*columns: np.ndarray) -> np.ndarray:
    """One integer per distinct combination of the columns' values (e.g. underlying, expiry)."""
    if not len(columns[0]):
        return np.zeros(0, dtype=np.int64)
    stacked = np.stack([np.asarray(c, dtype=float) for c in columns], axis=1)
    return np.unique(stacked, axis=0, return_inverse=True)[1].reshape(-1)
