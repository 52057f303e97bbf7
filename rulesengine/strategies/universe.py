"""A wide universe scanned in parts: the chain split by underlying into balanced partitions,
each scanned on its own thread (numpy releases the GIL for the heavy column work), the
results merged and ranked globally. Legs never span underlyings, so a partition finds exactly
the candidates the whole chain would have for its underlyings; the merged funnel adds up
each step's counts."""

from __future__ import annotations

import math
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from rulesengine.check.program import Program
from rulesengine.compile.graph import Graph
from rulesengine.data.chain import Chain
from rulesengine.strategies.scan import candidate_records, scan


@dataclass
class UniverseScan:
    candidates: list[dict]  # globally ranked, best first, `#1`...
    matched: int
    funnel: list[dict] = field(default_factory=list)  # stage, clause, in, out
    missing: list[str] = field(default_factory=list)
    error: str | None = None


def partitions(chain: Chain, parts: int) -> list[np.ndarray]:
    """Row indices of `parts` groups of whole underlyings with about equal rows each (the
    largest underlyings placed first, each into the lightest group)."""
    _, _, group = chain.underlying_groups()
    sizes = np.bincount(group)
    loads = [0] * max(parts, 1)
    owner = np.zeros(len(sizes), dtype=np.int64)
    for underlying in np.argsort(-sizes, kind="stable"):
        lightest = int(np.argmin(loads))
        owner[underlying] = lightest
        loads[lightest] += int(sizes[underlying])
    where = owner[group]
    return [np.flatnonzero(where == part) for part in range(len(loads)) if loads[part]]


def scan_universe(
    program: Program,
    graph: Graph,
    chain: Chain,
    scalars: Mapping[str, float] | None = None,
    workers: int = 2,
    limit: int | None = None,
) -> UniverseScan:
    """The chain's scan in `workers` partitions, merged: the same candidates as one scan."""

    def one(rows: np.ndarray) -> tuple[list[dict], int, list, list[str], str | None]:
        part = chain.take(rows)
        result = scan(program, graph, part, dict(scalars or {}))
        return (
            candidate_records(result, program, part, limit),
            len(result),
            result.funnel,
            result.missing,
            result.error,
        )

    with ThreadPoolExecutor(max_workers=max(workers, 1)) as pool:
        parts = list(pool.map(one, partitions(chain, workers)))
    candidates = sorted((c for p in parts for c in p[0]), key=_order)[:limit]
    for place, record in enumerate(candidates, start=1):
        record["id"] = f"#{place}"
    return UniverseScan(
        candidates,
        sum(p[1] for p in parts),
        _merged_funnel([p[2] for p in parts]),
        sorted({m for p in parts for m in p[3]}),
        next((p[4] for p in parts if p[4]), None),
    )


def _order(record: dict) -> tuple[float, str]:
    """Best rank first; ties by the legs' symbols, so the order never depends on the split."""
    rank = record.get("rank")
    value = -rank if isinstance(rank, int | float) and math.isfinite(rank) else math.inf
    return value, "|".join(str(leg.get("symbol")) for leg in record["legs"])


def _merged_funnel(funnels: list[list]) -> list[dict]:
    """Each step's counts added over the partitions (a partition that stopped early, with no
    rows left, adds nothing to the steps after)."""
    order: list[tuple[str, str]] = []
    totals: dict[tuple[str, str], list[int]] = {}
    for funnel in funnels:
        for step in funnel:
            key = (step.stage, step.label)
            if key not in totals:
                order.append(key)
                totals[key] = [0, 0]
            totals[key][0] += step.rows_in
            totals[key][1] += step.rows_out
    return [
        {"stage": stage, "clause": label, "in": totals[(stage, label)][0],
         "out": totals[(stage, label)][1]}
        for stage, label in order
    ]  # fmt: skip
