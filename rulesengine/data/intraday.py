"""Intraday bars: minute bars in, bars of any timeframe out, session-aware, with bar-close
semantics.

Minute bars are stamped at their start (a 09:30 bar covers 09:30:00-09:30:59). Built bars are
`chain.Bars` stamped at their *close* (the 09:30 5-minute bar at 09:35), so `Bars.until(now)`
keeps exactly the bars complete at `now`. Bars never cross a session: equities and index
options use regular hours (09:30-16:00 New York; minutes outside are dropped), futures the CME
Globex session (18:00 the evening before to 17:00). A `1d` bar is one whole session. Tick bars
(`512t`) group every N trades of a trade stream; an unfinished group is not a bar yet.

Everything is vectorised: `np.add.reduceat` over bucket boundaries, and arrays may be shaped
(minutes,) or (minutes, symbols) when the symbols share one timestamp grid.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np

from rulesengine.check.timeframes import Timeframe
from rulesengine.data.chain import Bars

NEW_YORK = ZoneInfo("America/New_York")
REGULAR = "regular"  # 09:30-16:00 New York: stocks, ETFs, index options
GLOBEX = "globex"  # 18:00 (previous day) - 17:00 New York: CME futures
REGULAR_HOURS = (time(9, 30), time(16, 0))
GLOBEX_HOURS = (time(18, 0), time(17, 0))


def session_kind(symbol: str) -> str:
    """Futures (`/ES`, `/MES`) trade the Globex session; everything else regular hours."""
    return GLOBEX if symbol.startswith("/") else REGULAR


@dataclass
class MinuteBars:
    """One symbol's minute bars (or several symbols' on one grid), oldest first."""

    start: np.ndarray  # epoch seconds (UTC) of each minute's start
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray

    def __post_init__(self) -> None:
        order = np.argsort(self.start, kind="stable")
        if np.any(order != np.arange(len(order))):
            for name in ("start", "open", "high", "low", "close", "volume"):
                setattr(self, name, getattr(self, name)[order])

    def __len__(self) -> int:
        return len(self.start)


def _epoch(day: date, at: time, zone=NEW_YORK) -> float:
    return datetime.combine(day, at, zone).timestamp()


def session_bounds(start: np.ndarray, kind: str) -> tuple[np.ndarray, np.ndarray]:
    """Each minute's session (open, close) in epoch seconds, computed once per calendar day
    (UTC), in New York time so daylight-saving changes move the hours, not the sessions."""
    days = (start // 86_400).astype(np.int64)
    unique, inverse = np.unique(days, return_inverse=True)
    bounds = np.empty((len(unique), 4))  # open, close, and (Globex) the next session's
    epoch = date(1970, 1, 1)
    for i, day_number in enumerate(unique):
        day = epoch + timedelta(days=int(day_number))
        if kind == GLOBEX:  # the session closing today at 17:00 opened yesterday at 18:00
            bounds[i] = (
                _epoch(day - timedelta(days=1), GLOBEX_HOURS[0]),
                _epoch(day, GLOBEX_HOURS[1]),
                _epoch(day, GLOBEX_HOURS[0]),
                _epoch(day + timedelta(days=1), GLOBEX_HOURS[1]),
            )
        else:
            opens, closes = _epoch(day, REGULAR_HOURS[0]), _epoch(day, REGULAR_HOURS[1])
            bounds[i] = (opens, closes, opens, closes)
    row = bounds[inverse]
    if kind == GLOBEX:  # after today's 17:00 close a minute belongs to the next session
        later = start >= row[:, 1]
        return np.where(later, row[:, 2], row[:, 0]), np.where(later, row[:, 3], row[:, 1])
    return row[:, 0], row[:, 1]


def resample(minutes: MinuteBars, timeframe: Timeframe, kind: str = REGULAR) -> Bars:
    """Bars of `timeframe` from minute bars, aligned to each session's open, stamped at close."""
    if timeframe.ticks:
        raise ValueError(f"{timeframe} bars are built from trades (tick_bars), not minute bars")
    start = np.asarray(minutes.start, dtype=float)
    opens, closes = session_bounds(start, kind)
    inside = (start >= opens) & (start < closes)
    if not inside.all():
        keep = np.flatnonzero(inside)
        start, opens, closes = start[keep], opens[keep], closes[keep]
        fields = [getattr(minutes, f)[keep] for f in ("open", "high", "low", "close", "volume")]
    else:
        fields = [getattr(minutes, f) for f in ("open", "high", "low", "close", "volume")]
    if not len(start):
        empty = np.zeros((0, *np.shape(fields[3])[1:]))
        return Bars(np.zeros(0), empty, empty, empty, empty, empty)
    if timeframe.daily:
        bucket_end = closes
    else:
        bucket = np.floor((start - opens) / timeframe.seconds)
        bucket_end = np.minimum(opens + (bucket + 1) * timeframe.seconds, closes)
    first = np.flatnonzero(np.r_[True, bucket_end[1:] != bucket_end[:-1]])
    o, h, lo, c, v = fields
    last = np.r_[first[1:], len(start)] - 1
    return Bars(
        bucket_end[first],
        o[first],
        _bucket_extreme(h, first, last, np.max),
        _bucket_extreme(lo, first, last, np.min),
        c[last],
        _bucket_sum(v, first, last),
    )


def _bucket_extreme(x: np.ndarray, first: np.ndarray, last: np.ndarray, reduce) -> np.ndarray:
    """max/min of each bucket [first, last]: the buckets gathered into a padded block (a short
    bucket repeats its last value) and reduced at once. ufunc.reduceat along the first axis of
    a (minutes, symbols) table is ten times slower."""
    lengths = last - first + 1
    width = int(lengths.max())
    index = first[:, None] + np.minimum(np.arange(width)[None, :], (lengths - 1)[:, None])
    return reduce(x[index], axis=1)


def _bucket_sum(x: np.ndarray, first: np.ndarray, last: np.ndarray) -> np.ndarray:
    """Sum of each bucket [first, last], gathered like the extremes; a short bucket's padding
    points at an appended zero (a running-sum difference down the first axis is slower)."""
    lengths = last - first + 1
    width = int(lengths.max())
    offsets = np.arange(width)[None, :]
    index = first[:, None] + offsets
    if bool((lengths == width).all()):
        return x[index].sum(axis=1)
    padded = np.concatenate([x, np.zeros((1, *x.shape[1:]), dtype=x.dtype)])
    index = np.where(offsets < lengths[:, None], index, len(x))
    return padded[index].sum(axis=1)


@dataclass
class Trades:
    """A trade stream: time (epoch seconds), price, size; oldest first."""

    time: np.ndarray
    price: np.ndarray
    size: np.ndarray


def tick_bars(trades: Trades, count: int) -> Bars:
    """Bars of `count` trades each, stamped at their last trade; a partial group is dropped."""
    whole = len(trades.time) // count * count
    if whole == 0:
        empty = np.zeros(0)
        return Bars(empty, empty, empty, empty, empty, empty)
    first = np.arange(0, whole, count)
    price = trades.price[:whole]
    return Bars(
        trades.time[first + count - 1],
        price[first],
        np.maximum.reduceat(price, first),
        np.minimum.reduceat(price, first),
        price[first + count - 1],
        np.add.reduceat(trades.size[:whole], first),
    )


@dataclass
class IntradayStore:
    """Each symbol's minute bars (and trades, where known) over a period, with every timeframe
    built once on first use; `at(now)` is the view a snapshot at `now` reads."""

    minutes: dict[str, MinuteBars] = field(default_factory=dict)
    trades: dict[str, Trades] = field(default_factory=dict)
    _built: dict[tuple[str, Timeframe], Bars] = field(default_factory=dict, repr=False)

    def full(self, symbol: str, timeframe: Timeframe) -> Bars | None:
        key = (symbol, timeframe)
        if key not in self._built:
            if timeframe.ticks:
                stream = self.trades.get(symbol)
                if stream is None:
                    return None
                self._built[key] = tick_bars(stream, timeframe.ticks)
            else:
                minutes = self.minutes.get(symbol)
                if minutes is None:
                    return None
                self._built[key] = resample(minutes, timeframe, session_kind(symbol))
        return self._built[key]

    def at(self, now: datetime) -> IntradayView:
        return IntradayView(self, now.timestamp())

    def extend(self, symbol: str, minutes: MinuteBars) -> None:
        """Add later minutes (a live feed's new day); built timeframes are rebuilt on use."""
        old = self.minutes.get(symbol)
        if old is not None:
            keep = minutes.start > old.start[-1] if len(old) else slice(None)
            minutes = MinuteBars(
                *(
                    np.concatenate([getattr(old, f), getattr(minutes, f)[keep]])
                    for f in ("start", "open", "high", "low", "close", "volume")
                )
            )
        self.minutes[symbol] = minutes
        for key in [k for k in self._built if k[0] == symbol]:
            del self._built[key]


class MinuteBuilder:
    """Minute bars from a stream of prices (a live broker's underlying quotes, polled every few
    seconds): each minute's first, highest, lowest and last price. A minute joins the store
    when a price of a later minute arrives, so indicators never read a minute still forming;
    with no trades seen, volume is 0."""

    def __init__(self, store: IntradayStore):
        self.store = store
        self._forming: dict[str, list[float]] = {}  # symbol -> [start, open, high, low, close]

    def see(self, symbol: str, when: float, price: float) -> None:
        if not np.isfinite(price) or price <= 0:
            return  # a missing or corrupt print makes no bar
        start = when // 60 * 60
        forming = self._forming.get(symbol)
        if forming is not None and forming[0] != start:
            self._close(symbol, forming)
            forming = None
        if forming is None:
            self._forming[symbol] = [start, price, price, price, price]
            return
        forming[2], forming[3], forming[4] = max(forming[2], price), min(forming[3], price), price

    def _close(self, symbol: str, bar: list[float]) -> None:
        start, o, h, lo, c = (np.array([x]) for x in bar)
        self.store.extend(symbol, MinuteBars(start, o, h, lo, c, np.zeros(1)))


@dataclass(frozen=True)
class IntradayView:
    """The bars complete at one moment: what a snapshot's indicators may read."""

    store: IntradayStore
    now: float  # epoch seconds

    def bars(self, symbol: str, timeframe: Timeframe) -> Bars | None:
        full = self.store.full(symbol, timeframe)
        return None if full is None else full.until(self.now)

    def last_price(self, symbol: str) -> float | None:
        minutes = self.store.minutes.get(symbol)
        if minutes is None:
            return None
        i = int(np.searchsorted(minutes.start, self.now - 60, side="right"))
        return float(minutes.close[i - 1]) if i else None
