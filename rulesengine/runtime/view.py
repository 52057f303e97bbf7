"""A View: the rows being evaluated, as index arrays into the chain (one per leg)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Protocol

import numpy as np

from rulesengine.data.chain import Chain

# Registry names whose data the chain stores under another name.
CHAIN_ALIASES = {"underlying_volume": "volume_underlying"}


class PerUnderlying(float):
    """A scalar whose value depends on the row's underlying (e.g. `shares_held`): a float
    subclass so it travels with the account's scalars, its plain value being the one for an
    underlying it does not list."""

    by_symbol: dict[str, float]

    def __new__(cls, by_symbol: Mapping[str, float], default: float = 0.0) -> PerUnderlying:
        made = super().__new__(cls, default)
        made.by_symbol = dict(by_symbol)
        return made

    def column(self, symbols: np.ndarray) -> np.ndarray:
        if not self.by_symbol:
            return np.full(len(symbols), float(self), dtype=float)
        unique, inverse = np.unique(symbols, return_inverse=True)
        fallback = float(self)
        values = np.array([self.by_symbol.get(str(s), fallback) for s in unique], dtype=float)
        return values[inverse]


def scalar_column(value: float, n: int, symbols: Callable[[], np.ndarray]) -> np.ndarray:
    """A scalar as a column of `n` rows (per underlying where it is a PerUnderlying)."""
    if isinstance(value, PerUnderlying):
        return value.column(symbols())
    return np.full(n, value, dtype=float)


def leg_rows(legs: Mapping[str, np.ndarray]) -> dict[str | None, np.ndarray | None]:
    """Leg rows keyed as a View reads them."""
    return {name: rows for name, rows in legs.items()}


def with_own(
    own: np.ndarray | None, legs: Mapping[str, np.ndarray]
) -> dict[str | None, np.ndarray | None]:
    """Leg rows plus the rows being filtered (`legs[None]`)."""
    return {None: own, **leg_rows(legs)}


class Fields(Protocol):
    """What an evaluation reads: `n` rows, each field as a column (or a scalar), and the
    names the data could not provide. A scan's View, the open positions' view and the
    account's scalars all are one."""

    n: int
    missing: set[str]

    @property
    def chain(self) -> Chain | None: ...

    def field(self, leg: str | None, name: str) -> np.ndarray: ...


class View:
    """Rows of one evaluation domain.

    `legs[None]` indexes the row being filtered (None there means every chain row, unindexed:
    the fast path for whole-chain filters); `legs['short']` indexes leg short's contract.
    `structure` supplies structure fields (credit, pop...) aligned with the rows.
    """

    def __init__(
        self,
        chain: Chain,
        legs: Mapping[str | None, np.ndarray | None],
        n: int,
        structure: Callable[[str], np.ndarray] | None = None,
        scalars: Mapping[str, float] | None = None,
        structure_fields: frozenset[str] = frozenset(),
        missing: set[str] | None = None,
    ):
        self.chain = chain
        self.legs: dict[str | None, np.ndarray | None] = {k: v for k, v in legs.items()}
        self.n = n
        self.structure = structure
        self.scalars = scalars or {}
        self.structure_fields = structure_fields
        # What this data can't provide (read as NaN); one set shared by all views of a scan.
        self.missing: set[str] = set() if missing is None else missing

    @classmethod
    def whole_chain(cls, chain: Chain, scalars: Mapping[str, float] | None = None) -> View:
        return cls(chain, {None: None}, len(chain), scalars=scalars)

    def field(self, leg: str | None, name: str) -> np.ndarray:
        if leg is None and name in self.structure_fields and self.structure is not None:
            return self.structure(name)
        if name in self.scalars:
            return scalar_column(
                self.scalars[name], self.n, lambda: self.field(leg, "underlying_symbol")
            )
        name = CHAIN_ALIASES.get(name, name)
        if not self.chain.has(name):
            self.missing.add(f"this data has no `{name}`")
            return np.full(self.n, np.nan)
        if leg is None and None not in self.legs:
            # A structure's own row: only underlying fields get here (the checker sees to it),
            # and every leg of a structure shares the underlying, so read it off the first leg.
            leg = next(iter(self.legs))
        rows = self.legs.get(leg)
        if self.chain.is_rowwise(name):  # costly model fields: solve only these rows
            return self.chain.column_at(name, rows)
        column = self.chain.column(name)
        return column if rows is None else column[rows]

    def subset(self, keep: np.ndarray) -> View:
        """The rows at positions `keep` (indices into this view)."""
        legs = {leg: (keep if rows is None else rows[keep]) for leg, rows in self.legs.items()}
        structure = None
        if self.structure is not None:
            parent = self.structure

            def structure(name: str) -> np.ndarray:
                return parent(name)[keep]

        return View(
            self.chain,
            legs,
            len(keep),
            structure,
            self.scalars,
            self.structure_fields,
            self.missing,
        )
