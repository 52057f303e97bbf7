"""Explain one contract or structure: every clause, whether it passed, and the values it read."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rulesengine.check.program import Program
from rulesengine.compile.graph import Clause, Graph
from rulesengine.data.chain import Chain, from_seconds
from rulesengine.runtime.evaluate import Evaluator
from rulesengine.runtime.view import View, with_own
from rulesengine.strategies.legs import Selection
from rulesengine.strategies.scan import DEFAULT_SCALARS, ScanResult, structure_view

DATE_FIELDS = {"expiry", "today"}


class ExplainError(Exception):
    """The thing to explain can't be found; the message says what to pass instead."""


@dataclass(frozen=True)
class Verdict:
    stage: str
    label: str
    passed: bool
    values: dict[str, float | str | None]


def _clause_verdicts(
    graph: Graph, stage: str, clauses: tuple[Clause, ...], view: View
) -> list[Verdict]:
    evaluator = Evaluator(graph, view)
    verdicts = []
    for clause in clauses:
        passed = bool(np.asarray(evaluator.mask(clause.node))[0])
        values = {}
        for leg, name in graph.fields_used(clause.node):
            value = np.asarray(view.field(leg, name))
            plain = _plain(value[0] if value.ndim else value)
            if name in DATE_FIELDS and isinstance(plain, float):
                plain = from_seconds(plain).isoformat()
            values[f"{leg}.{name}" if leg else name] = plain
        verdicts.append(Verdict(stage, clause.label, passed, values))
    return verdicts


def _plain(value) -> float | str | None:
    if isinstance(value, np.str_ | str):
        return str(value)
    value = float(value)
    return None if np.isnan(value) else round(value, 6)


def _rows_of(chain: Chain, symbol: str) -> int:
    wanted = symbol.strip().replace(" ", "")
    symbols = np.char.replace(chain.column("symbol"), " ", "")
    found = np.flatnonzero(symbols == wanted)
    if not len(found):
        raise ExplainError(f"no contract '{symbol}' in this chain on this date")
    return int(found[0])


def explain(
    target: str,
    program: Program,
    graph: Graph,
    chain: Chain,
    result: ScanResult | None,
    scalars=None,
) -> list[Verdict]:
    """`target` is '#N' (a ranked candidate), one OCC symbol, or leg symbols joined by commas."""
    scalars = {**DEFAULT_SCALARS, **(scalars or {})}
    if target.startswith("#"):
        if result is None or not target[1:].isdigit() or not 1 <= int(target[1:]) <= len(result):
            raise ExplainError(
                f"no candidate {target}: the scan ranked {0 if result is None else len(result)}"
            )
        pos = int(result.order[int(target[1:]) - 1])
        rows = {leg: int(r[pos]) for leg, r in result.selection.rows.items()}
        return _explain_structure(program, graph, chain, rows, scalars)
    symbols = [s for s in target.split(",") if s.strip()]
    if len(symbols) == 1:
        return _explain_contract(program, graph, chain, _rows_of(chain, symbols[0]), scalars)
    if len(symbols) != len(program.legs):
        raise ExplainError(
            f"this strategy has {len(program.legs)} legs "
            f"({', '.join(leg.name for leg in program.legs)}): "
            "pass one symbol per leg, comma-separated"
        )
    rows = {leg.name: _rows_of(chain, s) for leg, s in zip(program.legs, symbols, strict=True)}
    return _explain_structure(program, graph, chain, rows, scalars)


def _explain_contract(program, graph, chain, row, scalars) -> list[Verdict]:
    """A contract against every leg's own conditions (those that read no other leg)."""
    verdicts = []
    kind = "call" if chain.column("type")[row] == 1 else "put"
    for leg in program.legs:
        stage = f"leg:{leg.name}"
        if leg.kind != kind:
            verdicts.append(Verdict(stage, f"is a {leg.kind}", False, {"type": kind}))
            continue
        own = tuple(c for c in graph.filters.get(stage, ()) if graph.legs_used(c.node) <= {None})
        view = View(chain, {None: np.array([row])}, 1, scalars=scalars)
        verdicts += _clause_verdicts(graph, stage, own, view)
    return verdicts


def _explain_structure(program, graph, chain, rows: dict[str, int], scalars) -> list[Verdict]:
    verdicts = []
    arrays = {leg: np.array([row]) for leg, row in rows.items()}
    for leg in program.legs:
        view = View(chain, with_own(arrays[leg.name], arrays), 1, scalars=scalars)
        verdicts += _clause_verdicts(
            graph, f"leg:{leg.name}", graph.filters.get(f"leg:{leg.name}", ()), view
        )
    view, _ = structure_view(chain, program, Selection(arrays), scalars)
    verdicts += _clause_verdicts(graph, "entry", graph.filters.get("entry", ()), view)
    return verdicts
