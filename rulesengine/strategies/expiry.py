"""`expiry: where ... prefer ...`: one expiry per underlying, chosen before any leg's strikes.

`prefer dte nearest 45` on a leg ranks the contracts that survived the leg's filters, so when
the nearest expiry's strikes fail a filter a farther expiry is traded. The `expiry:` section
decides the expiry first: among the expiries with a contract passing its `where`, the one the
preference scores best (ties: the earlier), for each underlying; every leg then chooses its
strikes within it, and finds none rather than moving to another expiry.
"""

from __future__ import annotations

import numpy as np

from rulesengine.check.program import Program
from rulesengine.compile.graph import Graph
from rulesengine.runtime.evaluate import FunnelStep, run_filter
from rulesengine.runtime.view import View


def chosen_expiry_rows(
    graph: Graph,
    program: Program,
    chain,
    rows: np.ndarray,
    scalars,
    funnel: list[FunnelStep],
    missing: set[str] | None = None,
) -> np.ndarray:
    """`rows` narrowed to each underlying's chosen expiry (all of `rows` without the section)."""
    rule = program.expiry
    if rule is None or not len(rows):
        return rows
    view = View(chain, {None: rows}, len(rows), scalars=scalars, missing=missing)
    passed, evaluator = run_filter(graph, graph.filters.get("expiry", ()), view, "expiry", funnel)
    key = np.broadcast_to(
        np.asarray(evaluator.value(graph.values["expiry:key"]), dtype=float), (len(passed),)
    )
    if rule.prefer.mode == "nearest":
        target = np.asarray(evaluator.value(graph.values["expiry:target"]), dtype=float)
        score = np.abs(key - target)
    else:
        score = -key if rule.prefer.mode == "highest" else key
    candidates = rows[passed]
    codes = chain.column("underlying_code")
    expiries = chain.column("expiry")
    best: dict[int, tuple[float, float]] = {}  # underlying code -> (score, expiry)
    for code, expiry, value in zip(codes[candidates], expiries[candidates], score, strict=True):
        if not np.isfinite(value):
            continue
        current = best.get(int(code))
        if current is None or (value, expiry) < current:
            best[int(code)] = (float(value), float(expiry))
    chosen = np.full(int(codes.max()) + 1 if len(codes) else 0, np.nan)
    for code, (_, expiry) in best.items():
        chosen[code] = expiry
    kept = rows[expiries[rows] == chosen[codes[rows]]]
    funnel.append(FunnelStep("expiry", rule.prefer_text, "expiry", len(rows), len(kept)))
    return kept
