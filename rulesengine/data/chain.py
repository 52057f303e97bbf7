"""The normalised option chain: columns defined once, derived fields computed lazily and cached."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Protocol

import numpy as np

from rulesengine.analytics.probability import expected_move_straddle, prob_touch
from rulesengine.check.names import ENUMS
from rulesengine.check.timeframes import Timeframe
from rulesengine.data import expiries, model_fields, sanity
from rulesengine.data.model_fields import MODEL_FIELDS

EPOCH = date(1970, 1, 1)
FUTURE_TYPE = 2  # the `type` code of a futures contract's row (check.names.ENUMS option_type)
DAY = 86_400.0

# Every adapter produces exactly these columns (missing numbers as NaN, never -1 or -999).
# Dates are float seconds since 1970-01-01 (so date - date is a duration in seconds);
# enums are small integer codes in the order of check.names.ENUMS.
COLUMNS: dict[str, str] = {
    "underlying_symbol": "U",  # 'SPX'
    "root": "U",  # 'SPX', 'SPXW', 'SPXPM'
    "symbol": "U",  # OCC symbol as the source spells it
    "type": "i1",  # 0 put, 1 call
    "style": "i1",  # 0 european, 1 american
    "settlement": "i1",  # 0 am, 1 pm
    "strike": "f8",
    "expiry": "f8",
    "quote_date": "f8",
    "bid": "f8",
    "ask": "f8",
    "last": "f8",
    "volume": "f8",
    "open_interest": "f8",
    "iv": "f8",  # fraction
    "delta": "f8",
    "gamma": "f8",
    "theta": "f8",  # $ per share per calendar day
    "vega": "f8",  # $ per share per 1 vol point
    "rho": "f8",  # $ per share per 1 rate point
    "underlying_price": "f8",
    "forward": "f8",
    "interpolated": "?",
    "multiplier": "f8",
    "quote_age": "f8",  # seconds
}


def to_seconds(day: date) -> float:
    return (day - EPOCH).days * DAY


def from_seconds(seconds: float) -> date:
    return EPOCH + timedelta(days=int(seconds // DAY))


def enum_code(enum: str, value: str) -> int:
    return ENUMS[enum].index(value)


@dataclass
class Bars:
    """Daily bars of one underlying, oldest first; dates in seconds like every other date."""

    dates: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray

    @classmethod
    def from_closes(cls, by_day: dict[float, float]) -> Bars:
        """Close-only bars (open, high, low, volume unknown) from {date seconds: close}."""
        days = np.array(sorted(by_day), dtype=float)
        close = np.array([by_day[d] for d in days], dtype=float)
        nan = np.full_like(close, np.nan)
        return cls(days, nan, nan, nan, close, nan)

    def until(self, seconds: float) -> Bars:
        n = int(np.searchsorted(self.dates, seconds, side="right"))
        return Bars(
            *(getattr(self, f)[:n] for f in ("dates", "open", "high", "low", "close", "volume"))
        )


class BarSource(Protocol):
    """Intraday bars complete at a snapshot's time (see data.intraday)."""

    def bars(self, symbol: str, timeframe: Timeframe) -> Bars | None: ...


@dataclass
class Chain:
    """A columnar option chain (one or several quote dates, many underlyings and expiries)."""

    columns: dict[str, np.ndarray]
    bars: dict[str, Bars] = field(default_factory=dict)
    source: str = ""
    # daily ATM IV per underlying (in `close`), oldest first: what iv_rank and iv_percentile read
    iv_history: dict[str, Bars] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)  # what the loader skipped or resolved
    intraday: BarSource | None = None  # intraday bars up to this snapshot's time
    # lookups derived from this snapshot, computed once: indicator values by (series tree,
    # symbol), shared indicator subtrees, the symbol index of usable quotes
    memo: dict = field(default_factory=dict, repr=False)
    _cache: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    # model fields filled row by row: name -> values, plus which rows are solved
    _partial: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    _solved: np.ndarray | None = field(default=None, repr=False)
    _atm_iv_by_day: dict[str, Bars] | None = field(default=None, repr=False)
    _screened: bool = field(default=False, repr=False)  # the jump check has run

    def __post_init__(self) -> None:
        missing = set(COLUMNS) - set(self.columns)
        if missing:
            raise ValueError(f"chain is missing columns: {', '.join(sorted(missing))}")

    def __len__(self) -> int:
        return len(self.columns["strike"])

    def column(self, name: str) -> np.ndarray:
        """A stored or derived column, computed once."""
        if name in self.columns:
            return self.columns[name]
        if name not in self._cache:
            derive = DERIVED.get(name)
            if derive is None:
                raise KeyError(name)
            self._cache[name] = derive(self)
        return self._cache[name]

    def has(self, name: str) -> bool:
        return name in self.columns or name in DERIVED or name in MODEL_FIELDS

    def is_rowwise(self, name: str) -> bool:
        return name in MODEL_FIELDS

    def column_at(self, name: str, rows: np.ndarray | None) -> np.ndarray:
        """A model field at some rows, solving only rows never solved before."""
        rows = np.arange(len(self)) if rows is None else rows
        if self._solved is None:
            self._solved = np.zeros(len(self), dtype=bool)
            self._partial = {field: np.full(len(self), np.nan) for field in MODEL_FIELDS}
        todo = np.unique(rows[~self._solved[rows]])
        if len(todo):
            for field, values in model_fields.compute(self, todo).items():
                self._partial[field][todo] = values
            self._solved[todo] = True
        return self._partial[name][rows]

    @property
    def solved_rows(self) -> int:
        """How many rows had their model fields solved (for tests of laziness)."""
        return 0 if self._solved is None else int(self._solved.sum())

    def take(self, rows: np.ndarray) -> Chain:
        return Chain(
            {k: v[rows] for k, v in self.columns.items()},
            self.bars,
            self.source,
            self.iv_history,
            intraday=self.intraday,
        )

    def quote_dates(self) -> list[date]:
        found = self.memo.get("quote_dates")
        if found is None:
            found = [from_seconds(s) for s in np.unique(self.columns["quote_date"])]
            self.memo["quote_dates"] = found
        return list(found)

    def on(self, day: date) -> Chain:
        """The snapshot quoted on one date, with bars and IV history up to that date."""
        seconds = to_seconds(day)
        history = self.daily_atm_iv()
        rows = np.flatnonzero(self.columns["quote_date"] == seconds)
        snapshot = self.take(rows)
        snapshot.bars = {k: b.until(seconds) for k, b in self.bars.items()}
        snapshot.iv_history = {k: b.until(seconds) for k, b in history.items()}
        return snapshot

    def at_time(self, seconds: float) -> Chain:
        """The snapshot quoted at one moment of an intraday file (`quote_time`), with the daily
        bars of earlier sessions (today's is not complete) and IV history up to yesterday."""
        rows = np.flatnonzero(self.columns["quote_time"] == seconds)
        snapshot = self.take(rows)
        day = float(self.columns["quote_date"][rows[0]]) if len(rows) else 0.0
        history = self.daily_atm_iv()
        snapshot.bars = {k: b.until(day - 1) for k, b in self.bars.items()}
        snapshot.iv_history = {k: b.until(day - 1) for k, b in history.items()}
        return snapshot

    def daily_atm_iv(self) -> dict[str, Bars]:
        """Each underlying's ATM IV on every quote date of this chain, merged over any history
        the chain was given (the chain's own dates win)."""
        if self._atm_iv_by_day is None:
            per_symbol: dict[str, dict[float, float]] = {
                k: dict(zip(b.dates, b.close, strict=True)) for k, b in self.iv_history.items()
            }
            dates = self.columns["quote_date"]
            for day in np.unique(dates):
                snapshot = self.take(np.flatnonzero(dates == day))
                symbols, first = np.unique(snapshot.columns["underlying_symbol"], return_index=True)
                atm = snapshot.column("atm_iv")[first]
                for symbol, value in zip(symbols, atm, strict=True):
                    per_symbol.setdefault(str(symbol), {})[float(day)] = float(value)
            self._atm_iv_by_day = {s: Bars.from_closes(d) for s, d in per_symbol.items()}
        return self._atm_iv_by_day

    def screen(self, history: sanity.QuoteHistory) -> None:
        """Add the jump check against `history` to this snapshot's quote problems (once)."""
        if self._screened:
            return
        problems = self.column("quote_problem").copy()
        history.screen(
            self.columns["symbol"], self.column("mid"), self.columns["underlying_price"], problems
        )
        self._cache["quote_problem"] = problems
        self._cache.pop("quote_ok", None)
        self.memo.pop("symbol_rows", None)  # built from quote_ok
        self._screened = True

    def underlyings(self) -> np.ndarray:
        return self.underlying_groups()[0]

    def underlying_groups(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(distinct underlyings, first row of each, each row's index into them), once."""
        found = self.memo.get("underlying_groups")
        if found is None:
            found = distinct(self.columns["underlying_symbol"])
            self.memo["underlying_groups"] = found
        return found


def distinct(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """np.unique with return_index and return_inverse, without a sort when every value is the
    same (a one-underlying chain: every snapshot of a replay)."""
    if len(values) and bool((values == values[0]).all()):
        return values[:1].copy(), np.zeros(1, dtype=np.int64), np.zeros(len(values), np.int64)
    unique, first, inverse = np.unique(values, return_index=True, return_inverse=True)
    return unique, first, inverse.astype(np.int64)


def _mid(c: Chain) -> np.ndarray:
    with np.errstate(invalid="ignore"):  # an inf bid with a -inf ask: NaN, which sanity drops
        return (c.columns["bid"] + c.columns["ask"]) / 2.0


def _intrinsic(c: Chain) -> np.ndarray:
    s, k, is_call = c.columns["underlying_price"], c.columns["strike"], c.columns["type"] == 1
    return np.where(is_call, np.maximum(s - k, 0.0), np.maximum(k - s, 0.0))


def _itm(c: Chain) -> np.ndarray:
    s, k, is_call = c.columns["underlying_price"], c.columns["strike"], c.columns["type"] == 1
    return np.where(is_call, s > k, k > s)


def _underlying_codes(c: Chain) -> np.ndarray:
    return c.underlying_groups()[2]


def _quote_problem(c: Chain) -> np.ndarray:
    """Why each row's quote may not be used (0: it may); see data.sanity."""
    cols = c.columns
    return sanity.bound_problems(
        cols["bid"], cols["ask"], cols["strike"], cols["underlying_price"], cols["type"] == 1,
        cols["type"] < FUTURE_TYPE,
    )  # fmt: skip


def _per_underlying(c: Chain, value_of: Callable[[Bars], float]) -> np.ndarray:
    symbols = c.columns["underlying_symbol"]
    unique, inverse = np.unique(symbols, return_inverse=True)
    values = np.array([value_of(c.bars[str(s)]) if str(s) in c.bars else np.nan for s in unique])
    return values[inverse] if len(unique) else np.zeros(0)


def _last(series: str) -> Callable[[Chain], np.ndarray]:
    def derive(c: Chain) -> np.ndarray:
        return _per_underlying(
            c, lambda b: float(getattr(b, series)[-1]) if len(b.dates) else np.nan
        )

    return derive


def _change_pct(c: Chain) -> np.ndarray:
    return _per_underlying(
        c, lambda b: float(b.close[-1] / b.close[-2] - 1.0) if len(b.close) > 1 else np.nan
    )


def _atm_rows(c: Chain) -> dict[int, np.ndarray]:
    """Per underlying code: the rows at the strike nearest the forward, in the expiry nearest
    30 days (the at-the-money pair a trader would quote)."""
    cols = c.columns
    codes, dte = c.column("underlying_code"), c.column("dte")
    out = {}
    for code in np.unique(codes):
        rows = np.flatnonzero((codes == code) & np.isfinite(cols["bid"]) & (cols["ask"] > 0))
        if not len(rows):
            continue
        target = rows[np.abs(dte[rows] - 30) == np.min(np.abs(dte[rows] - 30))]
        anchor = np.where(
            np.isfinite(cols["forward"][target]),
            cols["forward"][target],
            cols["underlying_price"][target],
        )
        distance = np.abs(cols["strike"][target] - anchor)
        out[int(code)] = target[distance == distance.min()]
    return out


def _atm_iv(c: Chain) -> np.ndarray:
    """Mean IV of the at-the-money pair, per underlying."""
    codes, iv = c.column("underlying_code"), c.columns["iv"]
    out = np.full(len(c), np.nan)
    for code, rows in _atm_rows(c).items():
        known = iv[rows][np.isfinite(iv[rows])]
        if len(known):
            out[codes == code] = float(np.mean(known))
    return out


def _expected_move(c: Chain) -> np.ndarray:
    """The ATM straddle's price (call mid + put mid) per underlying."""
    codes = c.column("underlying_code")
    out = np.full(len(c), np.nan)
    mid, kind = c.column("mid"), c.columns["type"]
    for code, rows in _atm_rows(c).items():
        calls, puts = rows[kind[rows] == 1], rows[kind[rows] == 0]
        if len(calls) and len(puts):
            out[codes == code] = float(expected_move_straddle(mid[calls[0]], mid[puts[0]]))
    return out


def _prob_touch(c: Chain) -> np.ndarray:
    cols = c.columns
    years = np.maximum(c.column("dte"), 0.25) / 365.0  # an expiring contract has ~a quarter day
    with np.errstate(all="ignore"):
        carry = np.log(cols["forward"] / cols["underlying_price"]) / years
    carry = np.where(np.isfinite(carry), carry, 0.0)
    return prob_touch(cols["underlying_price"], cols["strike"], cols["iv"], years, carry)


DERIVED: dict[str, Callable[[Chain], np.ndarray]] = {
    "mid": _mid,
    "spread": lambda c: c.columns["ask"] - c.columns["bid"],
    "dte": lambda c: np.round((c.columns["expiry"] - c.columns["quote_date"]) / DAY),
    "trading_dte": lambda c: expiries.trading_dte(c.columns["quote_date"], c.columns["expiry"]),
    "expiry_cycle": lambda c: expiries.expiry_cycle(c.columns["expiry"], c.columns["root"]),
    "is_monthly": lambda c: c.column("expiry_cycle") == expiries.CYCLES.index("monthly"),
    "expiry_week_of_month": lambda c: expiries.week_of_month(c.columns["expiry"]),
    "moneyness": lambda c: c.columns["strike"] / c.columns["underlying_price"] - 1.0,
    "distance": lambda c: c.columns["strike"] - c.columns["underlying_price"],
    "itm": _itm,
    "otm": lambda c: ~c.column("itm"),
    "intrinsic": _intrinsic,
    "extrinsic": lambda c: c.column("mid") - c.column("intrinsic"),
    "price": lambda c: c.columns["underlying_price"],
    "underlying_code": _underlying_codes,
    "quote_problem": _quote_problem,
    "quote_ok": lambda c: c.column("quote_problem") == sanity.OK,
    "today": lambda c: c.columns["quote_date"],
    "close": _last("close"),
    "open": _last("open"),
    "high": _last("high"),
    "low": _last("low"),
    "volume_underlying": _last("volume"),
    "change_pct": _change_pct,
    "atm_iv": _atm_iv,
    "expected_move": _expected_move,
    "prob_touch": _prob_touch,
}
