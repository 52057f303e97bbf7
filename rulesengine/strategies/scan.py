"""One scan: underlying filter -> legs -> structures -> entry -> rank, with the funnel."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from rulesengine.check.program import Program
from rulesengine.compile.graph import Graph
from rulesengine.data.chain import Chain, from_seconds
from rulesengine.runtime.evaluate import Evaluator, FunnelStep, run_filter
from rulesengine.runtime.view import View, leg_rows
from rulesengine.strategies.expiry import chosen_expiry_rows
from rulesengine.strategies.legs import JoinTooLarge, Selection, select
from rulesengine.strategies.structures import STRUCTURE_FIELDS, LegShape, Structures, weight

# Account and market values used when a scan has no live account (override with --set).
DEFAULT_SCALARS = {
    "net_liq": 100_000.0,
    "buying_power": 100_000.0,
    "options_buying_power": 100_000.0,
    "day_pnl": 0.0,
    "week_pnl": 0.0,
    "losing_streak": 0.0,
    "winning_streak": 0.0,
    "drawdown": 0.0,
    "open_positions": 0.0,
    "heat": 0.0,
    "portfolio_delta": 0.0,
    "broker_errors": 0.0,
    "shares_held": 0.0,  # no holdings outside an engine
    "uncovered_shares": 0.0,
    "avg_cost": float("nan"),
    "assigned_at": float("nan"),
}


@dataclass
class ScanResult:
    strategy: str
    quote_date: str
    selection: Selection
    structures: Structures | None
    order: np.ndarray  # positions into selection, best rank first
    rank: np.ndarray
    funnel: list[FunnelStep]
    missing: list[str] = field(default_factory=list)
    error: str | None = None

    def __len__(self) -> int:
        return len(self.order)


def legs_shapes(program: Program) -> list[LegShape]:
    return [
        LegShape(leg.name, leg.sign * weight(leg.count, leg.kind), leg.kind) for leg in program.legs
    ]


def structure_view(
    chain: Chain, program: Program, selection: Selection, scalars, missing: set[str] | None = None
) -> tuple[View, Structures]:
    structures = Structures(chain, legs_shapes(program), selection.rows)
    view = View(
        chain, leg_rows(selection.rows), selection.n, structures, scalars, STRUCTURE_FIELDS, missing
    )
    return view, structures


def eligible_rows(
    graph: Graph,
    program: Program,
    chain: Chain,
    scalars,
    funnel: list[FunnelStep],
    missing: set[str] | None = None,
) -> np.ndarray:
    """Chain rows whose underlying is in the universe and passes the underlying conditions."""
    rows = np.arange(len(chain))
    names, _, group = chain.underlying_groups()
    if program.universe:
        in_universe = np.isin(names, list(program.universe))[group]
        funnel.append(
            FunnelStep(
                "universe",
                program.universe_label or f"underlying in {list(program.universe)}",
                "universe",
                len(rows),
                int(in_universe.sum()),
            )
        )
        rows = rows[in_universe]
    clauses = graph.filters.get("underlying", ())
    if clauses and len(rows):
        codes = group[rows]
        unique_codes, first = np.unique(codes, return_index=True)
        representatives = rows[first]
        view = View(
            chain, {None: representatives}, len(representatives), scalars=scalars, missing=missing
        )
        passed, _ = run_filter(graph, clauses, view, "underlying", funnel)
        rows = rows[np.isin(codes, unique_codes[passed])]
    return rows


def scan(
    program: Program, graph: Graph, chain: Chain, scalars: dict[str, float] | None = None
) -> ScanResult:
    """Evaluate a strategy over one chain snapshot and rank what passes."""
    scalars = {**DEFAULT_SCALARS, **(scalars or {})}
    funnel: list[FunnelStep] = []
    dates = chain.quote_dates()
    quote_date = dates[0].isoformat() if len(dates) == 1 else f"{len(dates)} dates"
    empty = ScanResult(
        program.name, quote_date, Selection({}), None, np.zeros(0, int), np.zeros(0), funnel
    )
    missing: set[str] = set()  # shared by every view of this scan
    rows = eligible_rows(graph, program, chain, scalars, funnel, missing)
    rows = chosen_expiry_rows(graph, program, chain, rows, scalars, funnel, missing)
    try:
        selection = select(graph, program.legs, chain, rows, scalars, funnel, missing)
    except JoinTooLarge as error:
        empty.error = f"{error}: add an equality such as `expiry == <leg>.expiry`, or a `prefer`"
        return empty
    view, structures = structure_view(chain, program, selection, scalars, missing)
    positions, evaluator = run_filter(graph, graph.filters.get("entry", ()), view, "entry", funnel)
    rank = _rank(graph, evaluator, len(positions))
    finite = np.isfinite(rank)  # an infinite or undefined score never ranks (nor trades)
    if not finite.all():
        label = "rank score is a finite number"
        funnel.append(FunnelStep("rank", label, "data", len(rank), int(finite.sum())))
        positions, rank = positions[finite], rank[finite]
    order = np.lexsort((positions, -rank))
    return ScanResult(
        program.name,
        quote_date,
        selection,
        structures,
        positions[order],
        rank[order],
        funnel,
        sorted(missing),
    )


def _rank(graph: Graph, evaluator: Evaluator, n: int) -> np.ndarray:
    if "rank" not in graph.values:
        return np.zeros(n)
    return np.broadcast_to(
        np.asarray(evaluator.value(graph.values["rank"]), dtype=float), (n,)
    ).copy()


def candidate_records(
    result: ScanResult, program: Program, chain: Chain, limit: int | None = None
) -> list[dict]:
    """Ranked candidates as plain records (legs, prices, structure numbers, rank score)."""
    records: list[dict] = []
    s = result.structures
    if s is None:  # nothing passed the legs: no structures were priced
        return records
    for place, (pos, score) in enumerate(
        zip(result.order[:limit], result.rank[:limit], strict=False), start=1
    ):
        legs = []
        for leg in program.legs:
            row = int(result.selection.rows[leg.name][pos])
            legs.append(_leg_record(chain, leg, row))
        record = {"id": f"#{place}", "legs": legs, "rank": _num(score)}
        for name in (
            "credit",
            "natural_credit",
            "width",
            "max_profit",
            "max_loss",
            "pop",
            "lower_breakeven",
            "upper_breakeven",
            "net_delta",
            "net_theta",
            "min_dte",
        ):
            record[name] = _num(s(name)[pos])
        records.append(record)
    return records


def _leg_record(chain: Chain, leg, row: int) -> dict:
    col = chain.column
    if leg.kind == "stock":
        return {
            "leg": leg.name,
            "side": leg.side,
            "count": leg.count,
            "kind": "stock",
            "symbol": str(col("underlying_symbol")[row]),
            "price": _num(col("underlying_price")[row]),
        }
    return {
        "leg": leg.name,
        "side": leg.side,
        "count": leg.count,
        "kind": leg.kind,
        "symbol": str(col("symbol")[row]),
        "expiry": from_seconds(float(col("expiry")[row])).isoformat(),
        "strike": _num(col("strike")[row]),
        "bid": _num(col("bid")[row]),
        "ask": _num(col("ask")[row]),
        "delta": _num(col("delta")[row]),
        "iv": _num(col("iv")[row]),
    }


def _num(value) -> float | None:
    value = float(value)
    if np.isnan(value):
        return None
    if np.isinf(value):
        return value
    return round(value, 4)
