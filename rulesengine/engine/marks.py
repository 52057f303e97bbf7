"""Open positions as rows the graph can evaluate: exit fields, leg fields, underlying fields.

Positions of one strategy share its leg shapes, so their marks come from the same vectorised
structure code that prices candidates (credit, net greeks, POP...), at the rows of the chain
holding each leg's contract. A leg missing from the chain leaves its position's values NaN:
no exit fires on a position that cannot be marked, and the monitor records why.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime

import numpy as np

from rulesengine.data.chain import Chain
from rulesengine.engine.hedge_book import hedge_of, units_per
from rulesengine.engine.positions import MULTIPLIER, Position
from rulesengine.runtime.view import scalar_column
from rulesengine.strategies.structures import LegShape, Structures

POSITION_STRUCTURE_FIELDS = ("credit", "net_delta", "net_vega", "min_dte")
LAZY_STRUCTURE_FIELDS = ("pop",)  # solved only when an exit rule reads it (the payoff's roots)


class SymbolIndex:
    """Chain row of each option symbol and of each underlying (for stock legs), built once."""

    def __init__(self, chain: Chain):
        self.chain = chain
        self._rows: dict[str, int] | None = None  # built on the first lookup: most ticks of
        self._underlying_rows: dict[str, int] | None = None  # a flat book never look one up

    @property
    def rows(self) -> dict[str, int]:
        if self._rows is None:
            found = self.chain.memo.get("symbol_rows")
            if found is None:
                # a quote that failed the sanity checks is no quote: marked by the model
                usable = np.flatnonzero(self.chain.column("quote_ok"))
                symbols = self.chain.column("symbol")[usable].tolist()
                found = dict(zip(symbols, usable.tolist(), strict=True))
                self.chain.memo["symbol_rows"] = found
            self._rows = found
        return self._rows

    @property
    def underlying_rows(self) -> dict[str, int]:
        if self._underlying_rows is None:
            underlyings = self.chain.column("underlying_symbol")
            unique, first = np.unique(underlyings, return_index=True)
            self._underlying_rows = {str(u): int(i) for u, i in zip(unique, first, strict=True)}
        return self._underlying_rows

    def row(self, symbol: str, kind: str) -> int:
        if kind == "stock":
            return self.underlying_rows.get(symbol, -1)
        return self.rows.get(symbol, -1)


class PositionView:
    """Duck-types runtime.view.View for the Evaluator: one row per open position."""

    def __init__(
        self,
        chain: Chain,
        rows: dict[str, np.ndarray],
        columns: dict[str, np.ndarray],
        scalars: Mapping[str, float],
        lazy: Mapping[str, Callable[[], np.ndarray]] | None = None,
    ):
        self.chain = chain
        self.rows = rows  # leg name -> chain row per position (-1: not quoted)
        self.columns = columns
        self.scalars = scalars
        self.lazy = lazy or {}  # columns computed when first read, then kept in `columns`
        self.n = len(next(iter(columns.values()))) if columns else 0
        self.missing: set[str] = set()

    def reading(self, scalars: Mapping[str, float]) -> PositionView:
        """The same positions and marks, evaluated against another scope's scalars."""
        return PositionView(self.chain, self.rows, self.columns, scalars, self.lazy)

    def field(self, leg: str | None, name: str) -> np.ndarray:
        if leg is None and name not in self.columns and name in self.lazy:
            self.columns[name] = self.lazy[name]()
        if leg is None and name in self.columns:
            return self.columns[name]
        if name in self.scalars:
            return scalar_column(
                self.scalars[name], self.n, lambda: self.field(leg, "underlying_symbol")
            )
        rows = self.rows[leg] if leg is not None else next(iter(self.rows.values()))
        if not self.chain.has(name):
            self.missing.add(f"this data has no `{name}`")
            return np.full(self.n, np.nan)
        if len(self.chain) == 0:  # an empty snapshot quotes nothing
            return np.full(self.n, np.nan)
        safe = np.where(rows >= 0, rows, 0)
        values = (
            self.chain.column_at(name, safe)
            if self.chain.is_rowwise(name)
            else self.chain.column(name)[safe]
        )
        if values.dtype.kind == "f":
            return np.where(rows >= 0, values, np.nan)
        return values


class ScalarView:
    """The account and market scalars as a one-row view (breakers, limits, sizing values)."""

    def __init__(self, scalars: Mapping[str, float], chain: Chain | None = None):
        self.scalars = scalars
        self.chain = chain
        self.n = 1
        self.missing: set[str] = set()

    def field(self, leg: str | None, name: str) -> np.ndarray:
        if name not in self.scalars:
            self.missing.add(f"no value for `{name}`")
        return np.array([self.scalars.get(name, np.nan)], dtype=float)


TESTED = "tested"  # the sold option leg the market has moved toward (larger |delta|)


def tested_rows(
    shapes: list[LegShape], rows: dict[str, np.ndarray], chain: Chain
) -> np.ndarray | None:
    """Per position, the chain row of its tested side's sold option: of the sold put and the
    sold call, the one with the larger |delta| (None for structures without both)."""
    put = next((s.name for s in shapes if s.kind == "put" and s.weight < 0), None)
    call = next((s.name for s in shapes if s.kind == "call" and s.weight < 0), None)
    if put is None or call is None:
        return None
    delta = np.abs(chain.column("delta"))
    put_rows, call_rows = rows[put], rows[call]
    put_delta = np.where(put_rows >= 0, delta[np.maximum(put_rows, 0)], np.nan)
    call_delta = np.where(call_rows >= 0, delta[np.maximum(call_rows, 0)], np.nan)
    return np.where(put_delta >= call_delta, put_rows, call_rows)


def position_view(
    positions: list[Position],
    shapes: list[LegShape],
    index: SymbolIndex,
    scalars: Mapping[str, float],
    now: datetime,
) -> PositionView:
    """Exit fields of every position (all of one strategy, legs in the strategy's order)."""
    chain = index.chain
    rows = {
        shape.name: np.array([index.row(p.legs[j].symbol, shape.kind) for p in positions])
        for j, shape in enumerate(shapes)
    }
    n = len(positions)
    quoted = np.all(np.stack([r >= 0 for r in rows.values()]), axis=0) if rows else np.ones(n, bool)
    tested = tested_rows(shapes, rows, chain)
    if tested is not None:
        rows = {**rows, TESTED: tested}  # not a shape: structures never read it
    structure = {name: np.full(n, np.nan) for name in POSITION_STRUCTURE_FIELDS}
    solver = None
    if quoted.any():
        solver = Structures(
            chain, shapes, {name: r[quoted] for name, r in rows.items() if name != TESTED}
        )
        for name, column in structure.items():
            column[quoted] = solver(name)

    def later(name: str) -> Callable[[], np.ndarray]:
        def compute() -> np.ndarray:
            column = np.full(n, np.nan)
            if solver is not None:
                column[quoted] = solver(name)
            return column

        return compute

    lazy = {name: later(name) for name in LAZY_STRUCTURE_FIELDS}
    columns = _columns(positions, structure, index, rows, now)
    return PositionView(chain, rows, columns, scalars, lazy)


def _columns(positions, structure, index, rows, now) -> dict[str, np.ndarray]:
    qty = np.array([p.quantity for p in positions], dtype=float)
    entry = np.array([p.entry_price for p in positions], dtype=float)
    value_now = structure["credit"]  # credit to open the structure again at mid, per unit
    pnl = (entry - value_now) * MULTIPLIER * qty
    max_profit = np.array([p.max_profit for p in positions], dtype=float) * qty
    max_loss = np.array([p.max_loss for p in positions], dtype=float) * qty
    entry_credit = np.maximum(entry, 0) * MULTIPLIER * qty
    entry_debit = np.maximum(-entry, 0) * MULTIPLIER * qty
    with np.errstate(all="ignore"):
        pnl_pct = np.where(entry > 0, pnl / max_profit, pnl / entry_debit)
    high_water = np.fmax(np.array([p.high_water_pnl for p in positions], dtype=float), pnl)
    held_days = np.array([(now - p.opened_at).total_seconds() / 86400 for p in positions])
    at_entry = {
        name: np.array([p.detail.get(name, np.nan) for p in positions], dtype=float)
        for name in ("entry_underlying_price", "entry_iv")
    }
    hedges = [hedge_of(p) for p in positions]
    hedge_delta = np.array([h.delta for h in hedges], dtype=float)
    hedge_value = np.zeros(len(positions))
    if any(h.held or h.cash for h in hedges):
        # the hedges at their prices now, plus what trading them brought in
        hedge_value = _hedge_values(hedges, index, _underlying_price(index, rows, len(positions)))
        pnl = pnl + hedge_value + np.array([h.cash for h in hedges], dtype=float)
    return {
        "pnl": pnl,
        "pnl_pct": pnl_pct,
        "entry_credit": entry_credit,
        "entry_debit": entry_debit,
        "mark": -value_now * MULTIPLIER * qty + hedge_value,
        "days_held": held_days,
        "high_water_pnl": high_water,
        "quantity": qty,
        "short_strike_breached": _breached(positions, index, rows),
        "rolls": np.array([p.roll_number for p in positions], dtype=float),
        **at_entry,
        "position_delta": structure["net_delta"] * MULTIPLIER * qty + hedge_delta,
        "hedge_delta": hedge_delta,
        "position_vega": structure["net_vega"] * MULTIPLIER * qty,
        "dte": structure["min_dte"],
        "max_profit": max_profit,
        "max_loss": max_loss,
        "credit": -value_now,
        "net_delta": structure["net_delta"],
        "net_vega": structure["net_vega"],
    }


def _hedge_values(hedges, index: SymbolIndex, underlying: np.ndarray) -> np.ndarray:
    """Per position, its hedges' value: shares at the underlying's price, futures contracts
    at their own mid times their multiplier (NaN while one has no quote)."""
    mids = index.chain.column("mid") if len(index.chain) else np.zeros(0)
    values = np.zeros(len(hedges))
    for i, hedge in enumerate(hedges):
        for symbol, qty in hedge.held.items():
            if units_per(symbol) == 1:
                values[i] += qty * underlying[i]
                continue
            row = index.row(symbol, "future")
            values[i] += qty * (float(mids[row]) if row >= 0 else np.nan) * units_per(symbol)
    return values


def _underlying_price(index: SymbolIndex, rows, n: int) -> np.ndarray:
    """Per position, its underlying's price on this snapshot (NaN: not quoted)."""
    first = next(iter(rows.values())) if rows else np.full(n, -1)
    price = index.chain.column("underlying_price")
    if not len(price):
        return np.full(n, np.nan)
    return np.where(first >= 0, price[np.maximum(first, 0)], np.nan)


def _breached(positions, index: SymbolIndex, rows) -> np.ndarray:
    """True where the underlying is through a short option strike (a put above it, a call
    below it); positions that cannot be quoted are not breached."""
    price = index.chain.column("underlying_price")
    out = np.zeros(len(positions), dtype=bool)
    first = next(iter(rows.values())) if rows else np.zeros(0, int)
    for i, p in enumerate(positions):
        if first[i] < 0:
            continue
        s = float(price[first[i]])
        for leg in p.legs:
            if leg.ratio >= 0 or leg.kind == "stock":
                continue
            if (leg.kind == "put" and s < leg.strike) or (leg.kind == "call" and s > leg.strike):
                out[i] = True
    return out
