"""The position book: every position the engine knows, their marks and their settlement.

One place owns the positions' lifecycle (see `positions.Status`), marks every held position
every tick (owned by a loaded strategy, a retired one, adopted or flagged alike), values legs
the snapshot lacks from the model (and says so), and books expiries with the same settlement
rule as the paper account (`brokers.settlement`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime

import numpy as np

from brokers.model import Intent, OrderLeg
from brokers.settlement import SpotHistory, intrinsic, settles
from rulesengine.data import sanity
from rulesengine.data.chain import FUTURE_TYPE, Chain, distinct
from rulesengine.engine.hedge_book import hedge_of
from rulesengine.engine.holdings import Delivery, deliver, deliveries
from rulesengine.engine.journal import Journal
from rulesengine.engine.marks import MULTIPLIER, PositionView, SymbolIndex, position_view
from rulesengine.engine.model_marks import Marked, with_model_rows
from rulesengine.engine.orders import unit_weight
from rulesengine.engine.positions import Position, PositionLeg, Status
from rulesengine.strategies.structures import LegShape, weight

SPOTS_KEY = "settlement_spots"


@dataclass(frozen=True)
class Mark:
    """One position's valuation this tick (money per position, not per share)."""

    pnl: float  # unrealised, at mid
    close_credit: float  # per share: what closing at mid brings in (negative: pay)
    delta: float  # share-equivalent
    vega: float  # $ per vol point
    by_model: bool  # at least one leg valued from the model


@dataclass
class Group:
    """Positions marked together: one strategy (or one unowned structure shape)."""

    positions: list[Position]
    view: PositionView


class PositionBook:
    def __init__(self, journal: Journal):
        self.journal = journal
        self.positions: dict[str, Position] = {p.id: p for p in journal.positions()}
        self.marks: dict[str, Mark] = {}
        self.groups: dict[tuple, Group] = {}
        self.spots = SpotHistory.from_json(_loads(journal.get(SPOTS_KEY)))
        self.marked: Marked | None = None

    # ------------------------------------------------------------ reading
    def open_positions(self, strategy: str | None = None) -> list[Position]:
        return [
            p
            for p in self.positions.values()
            if p.is_open and (strategy is None or p.strategy == strategy)
        ]

    def committed(self, strategy: str | None = None) -> list[Position]:
        """Held positions plus entries the broker may still fill (decided this tick or
        working): what every limit counts."""
        return [
            p
            for p in self.positions.values()
            if (p.is_open or p.status is Status.OPENING)
            and (strategy is None or p.strategy == strategy)
        ]

    def by_entry_key(self, key: str) -> Position | None:
        return next((p for p in self.positions.values() if p.entry_key == key), None)

    def by_exit_key(self, key: str) -> Position | None:
        return next((p for p in self.positions.values() if p.exit_key == key), None)

    def closed(self, strategy: str | None = None) -> list[Position]:
        return [
            p
            for p in self.positions.values()
            if p.status is Status.CLOSED and (strategy is None or p.strategy == strategy)
        ]

    def holdings(self) -> dict[str, int]:
        """Net units per symbol the engine's positions hold at the broker."""
        net: dict[str, int] = {}
        for p in self.positions.values():
            if p.is_open or (p.status is Status.OPENING and p.quantity):
                for symbol, qty in p.holdings().items():
                    net[symbol] = net.get(symbol, 0) + qty
        return net

    def intents(self, legs: list[OrderLeg], quantity: int) -> list[OrderLeg]:
        """Open or close per leg from the account's net holding, as brokers require: buying a
        put the account is net short of is a buy to close, whichever position it belongs to."""
        held = self.holdings()
        out = []
        for leg in legs:
            change, have = leg.ratio * quantity, held.get(leg.symbol, 0)
            closes = have != 0 and (have > 0) != (change > 0) and abs(change) <= abs(have)
            out.append(OrderLeg(leg.symbol, leg.ratio, Intent.CLOSE if closes else Intent.OPEN))
        return out

    # ------------------------------------------------------------ writing
    def add(self, p: Position) -> None:
        self.positions[p.id] = p
        self.journal.save_position(p)

    def save(self, p: Position) -> None:
        self.journal.save_position(p)

    # ------------------------------------------------------------ marks
    def see_market(self, chain: Chain, now: datetime) -> None:
        """Record the underlyings' prices for settlement (the same rule as the paper account)."""
        # rows whose quote passed the sanity checks: a corrupt print never becomes a settlement
        sound = np.flatnonzero(chain.column("quote_ok"))
        prices = chain.column("underlying_price")[sound]
        names = chain.column("underlying_symbol")[sound]
        if not len(names):
            return
        unique, first, _ = distinct(names)
        for name, row in zip(unique, first, strict=True):
            if math.isfinite(float(prices[row])):
                self.spots.see(str(name), float(prices[row]), now)
        futures = sound[chain.column("type")[sound] == FUTURE_TYPE]  # settle at their own price
        mids, symbols = chain.column("mid"), chain.column("symbol")
        for row in futures.tolist():
            if math.isfinite(float(mids[row])):
                self.spots.see(str(symbols[row]), float(mids[row]), now)
        self.journal.put(SPOTS_KEY, _dumps(self.spots.to_json()))

    def mark(self, chain: Chain, index: SymbolIndex, now: datetime) -> None:
        """Mark every held position: P&L, close credit, greeks, high-water mark. Legs without
        a usable quote are priced from the model; positions of one strategy share a view.
        `index` is the snapshot's (built once per tick)."""
        held = [
            p
            for p in self.positions.values()
            if p.is_open or (p.status is Status.OPENING and p.quantity)  # part filled: held
        ]
        legs = ((p.underlying, leg) for p in held for leg in p.legs)
        marked = with_model_rows(chain, index.rows, legs)
        self.marked, self.marks, self.groups = marked, {}, {}
        if marked.chain is not chain:
            index = SymbolIndex(marked.chain)
        for key, group in _grouped(held).items():
            view = position_view(group, _shapes(group[0].legs), index, {}, now)
            self.groups[key] = Group(group, view)
            self._remember(group, view, marked, now)

    def _remember(self, group: list[Position], view: PositionView, marked: Marked, now) -> None:
        cols = view.columns
        model = np.zeros(len(group), bool)
        for rows in view.rows.values():
            model |= marked.is_model(rows)
        view.columns["marked_by_model"] = model
        prices = view.field(None, "underlying_price").tolist()
        # plain floats: a loop over numpy scalars costs more than the marking itself
        pnl, high_water, mark, credit, delta, vega, hedged = (
            np.asarray(cols[name], dtype=float).tolist()
            for name in (
                "pnl", "high_water_pnl", "mark", "credit", "net_delta", "net_vega", "hedge_delta"
            )
        )
        by_model = model.tolist()
        for i, p in enumerate(group):
            if math.isfinite(prices[i]):
                p.detail["underlying_price"] = prices[i]
            if math.isfinite(pnl[i]):
                p.high_water_pnl = high_water[i]
                p.last_mark = mark[i]
                p.detail["pnl"] = round(pnl[i], 2)
                low = p.detail.get("low_water_pnl")  # the adverse excursion, for reviews
                p.detail["low_water_pnl"] = round(pnl[i] if low is None else min(low, pnl[i]), 2)
            p.detail["marked_by_model"] = by_model[i]
            current = Mark(
                pnl=pnl[i],
                close_credit=credit[i],
                delta=delta[i] * MULTIPLIER * p.quantity + hedged[i],  # hedges included
                vega=vega[i] * MULTIPLIER * p.quantity,
                by_model=by_model[i],
            )
            self.marks[p.id] = current
            for greek in ("delta", "vega"):  # the position's, in shares and dollars per vol point
                value = getattr(current, greek)
                p.detail[greek] = round(value, 2) if math.isfinite(value) else None
        self.journal.save_marks(group)  # the high-water mark survives a restart

    def rejected_quotes(self, chain: Chain) -> list[tuple[Position, str]]:
        """Held positions with a leg whose quote this snapshot failed the sanity checks (each
        is marked by the model instead), with the contract and the reason."""
        problems = chain.column("quote_problem")
        with np.errstate(invalid="ignore"):  # a contract with no numbers at all is just absent
            priced = np.isfinite(chain.column("bid")) | np.isfinite(chain.column("ask"))
        bad = np.flatnonzero((problems != sanity.OK) & priced)
        if not len(bad):
            return []
        symbols = chain.column("symbol")
        rejected = {str(symbols[i]): int(problems[i]) for i in bad}
        out = []
        for p in self.positions.values():
            if not (p.is_open or (p.status is Status.OPENING and p.quantity)):
                continue
            named = [
                f"{leg.symbol.strip()}: {sanity.reason(rejected[leg.symbol])}"
                for leg in p.legs
                if leg.symbol in rejected
            ]
            if named:
                out.append((p, "quote rejected, marked by model: " + "; ".join(named)))
        return out

    def model_values(self) -> dict[str, float]:
        """Per-share values of held contracts the snapshot lacks (for the account's net liq)."""
        if self.marked is None:
            return {}
        first = self.marked.first_model_row
        symbols = self.marked.chain.column("symbol")[first:]
        mids = self.marked.chain.column("bid")[first:]
        return {str(s): float(m) for s, m in zip(symbols, mids, strict=True)}

    def unquoted_legs(self, p: Position, index: SymbolIndex) -> list[str]:
        """Legs with no row in the real snapshot (closing them needs a real quote)."""
        return [leg.symbol.strip() for leg in p.legs if index.row(leg.symbol, leg.kind) < 0]

    # ------------------------------------------------------------ settlement
    def settle_expired(
        self,
        now: datetime,
        decide: Callable[[Position, str, list[Delivery]], None],
        group: Callable[[str], Iterable[str]] = lambda strategy: (strategy,),
    ) -> None:
        """Positions whose every option leg has expired are settled by the broker: book them
        closed at their intrinsic value against the settlement price of their expiry, and
        the shares in-the-money equity options deliver into the holdings of the strategy's
        group (`group`: a strategy's holdings group; see `engine.holdings`)."""
        for p in self.open_positions():
            option_legs = [leg for leg in p.legs if leg.expiry]
            if not option_legs:
                continue
            last = max(date.fromisoformat(leg.expiry) for leg in option_legs)
            if not settles(last, now):
                continue
            value = self.settlement_credit(p, option_legs)
            if value is None:
                continue  # no price seen for the underlying yet: settle on a later tick
            gross = (p.entry_price + value) * MULTIPLIER * p.quantity
            p.detail["exit_price"] = value
            hedge = hedge_of(p)
            if not hedge.flat:  # closed once the hedge is flattened (engine.hedging)
                p.detail["options_done"] = round(gross, 6)
                if p.status is Status.OPEN:
                    p.start_exit(f"settle:{p.id}", "expired")
                realised = float(p.detail.get("realised_part", 0.0)) + gross - p.fees
            else:
                realised = float(p.detail.get("realised_part", 0.0)) + gross - p.fees
                realised += hedge.cash - hedge.fees
                p.close(now, round(realised, 2), "expired")
            self.save(p)
            delivered = deliveries(p, self.spots.settlement_price) if not p.is_holding else []
            for delivery in delivered:
                for changed in deliver(self.positions, p, delivery, group(p.strategy), now):
                    self.add(changed)
            why = f"settled at expiry {p.expiry} for {value:+.2f}; realised {realised:+,.2f}"
            decide(p, why, delivered)

    def settlement_credit(self, p: Position, legs: Iterable[PositionLeg]) -> float | None:
        """Per-share credit the expired legs bring in (a short ITM leg is negative)."""
        total = 0.0
        for leg in legs:
            expiry = date.fromisoformat(leg.expiry)
            if leg.kind == "future":  # cash-settled at the contract's own last price
                price = self.spots.settlement_price(leg.symbol, expiry)
                if price is None:
                    return None
                total += leg.ratio * float(price) * unit_weight(leg.symbol)
                continue
            spot = self.spots.settlement_price(p.underlying, expiry)
            if spot is None:
                return None
            total += leg.ratio * intrinsic(leg.kind, leg.strike, float(spot))
        return total


def _grouped(held: list[Position]) -> dict[tuple, list[Position]]:
    """Positions of one strategy and one leg shape, marked by one view."""
    groups: dict[tuple, list[Position]] = {}
    for p in held:
        shape = tuple((leg.name, _weight(leg), leg.kind) for leg in p.legs)
        groups.setdefault((p.strategy, p.is_holding, shape), []).append(p)
    return groups


def _weight(leg: PositionLeg) -> float:
    return weight(leg.ratio, leg.kind)


def _shapes(legs: list[PositionLeg]) -> list[LegShape]:
    return [LegShape(leg.name, _weight(leg), leg.kind) for leg in legs]


def _loads(text: str | None) -> dict:
    return json.loads(text) if text else {}


def _dumps(data: dict) -> str:
    return json.dumps(data, sort_keys=True)
