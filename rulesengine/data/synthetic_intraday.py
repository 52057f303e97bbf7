"""A synthetic intraday market over a real daily path: minute bars that honour each day's real
open, high, low and close, and option chains every N minutes from the SSVI generator with
intraday time decay, daily (0DTE) expiries and spreads that widen into the close.

Model-generated, like the daily generator, and deterministic by seed:
- The minute path is a Brownian bridge from the day's open to its close whose variance follows
  the intraday U-shape (the open and the close are about 2.5x busier than midday), mapped
  monotonically so its lowest point is the day's real low and its highest the real high.
  Minute highs and lows are the minute's open and close (the path is all the detail there is).
  A model trade stream along the path (20 prints a minute on average, busier at the open and
  close) gives tick bars (`512t`).
- Strikes are listed at each session's open around the opening price (and kept until they
  expire), so the contracts are the same all day. Chains price every expiry at the time left
  to its 16:00 close, so a same-day option decays
  through the session; the surface's level is anchored to that day's VIX close where known.
  Bid/ask spreads are the daily model's, widened 1.5x in the first 15 minutes and up to 3x in
  the last 30 (as SPX quotes behave into the bell).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

import numpy as np

from rulesengine.analytics.ssvi import SSVI
from rulesengine.check.timeframes import Timeframe
from rulesengine.data.chain import Bars, Chain, from_seconds, to_seconds
from rulesengine.data.intraday import NEW_YORK, IntradayStore, MinuteBars, Trades
from rulesengine.data.synthetic import ContractGrid, Listing, list_contracts, price_contracts

SESSION_MINUTES = 390  # 09:30-16:00
OPEN = time(9, 30)
MIN_WIDTH = 0.02  # strikes listed at least 2% either side of the open (same-day expiries)
WARMUP_SESSIONS = 5  # minute bars generated before the first snapshot: indicators have history
TRADES_PER_MINUTE = 20.0  # model prints per minute on average (for tick bars)


def volatility_shape(minutes: int = SESSION_MINUTES) -> np.ndarray:
    """Relative variance of each minute: U-shaped, mean 1."""
    x = (np.arange(minutes) + 0.5) / minutes
    shape = 1.0 + 6.0 * (x - 0.5) ** 2  # 2.5x the midday variance at the open and the close
    return shape / shape.mean()


def minute_path(
    open_: float, high: float, low: float, close: float, rng: np.random.Generator
) -> np.ndarray:
    """SESSION_MINUTES + 1 prices: the open, then each minute's close; max == high, min == low."""
    steps = rng.standard_normal(SESSION_MINUTES) * np.sqrt(volatility_shape())
    walk = np.r_[0.0, np.cumsum(steps)]
    t = np.linspace(0.0, 1.0, SESSION_MINUTES + 1)
    bridge = walk - t * walk[-1]
    scale = max(high - low, 1e-9) / max(np.ptp(bridge), 1e-9)
    path = open_ + (close - open_) * t + scale * bridge
    path[0], path[-1] = open_, close
    return _fit_range(path, high, low, open_, close)


def _fit_range(path: np.ndarray, high: float, low: float, open_: float, close: float):
    """Stretch the parts of the path beyond the open/close range so they touch high and low;
    a path that never left the range gets the extreme at its farthest point."""
    top, bottom = max(open_, close), min(open_, close)
    out = path.copy()
    above, below = path > top, path < bottom
    if high > top:
        if above.any():
            out[above] = top + (path[above] - top) * (high - top) / (path[above].max() - top)
        else:
            inner = np.argmax(path[1:-1]) + 1
            out[inner] = high
    else:
        out[above] = top
    if low < bottom:
        if below.any():
            out[below] = bottom - (bottom - path[below]) * (bottom - low) / (
                bottom - path[below].min()
            )
        else:
            inner = np.argmin(out[1:-1]) + 1
            out[inner] = low
    else:
        out[below] = bottom
    return out


def day_minutes(day: date, bar: tuple[float, float, float, float, float], seed: int) -> MinuteBars:
    """One session's minute bars from its daily bar (open, high, low, close, volume)."""
    open_, high, low, close, volume = bar
    rng = np.random.default_rng([seed, day.toordinal(), 7])
    path = minute_path(open_, high, low, close, rng)
    first = datetime.combine(day, OPEN, NEW_YORK).timestamp()
    start = first + 60.0 * np.arange(SESSION_MINUTES)
    shares = volatility_shape() / SESSION_MINUTES * (volume if np.isfinite(volume) else 0.0)
    return MinuteBars(
        start,
        path[:-1],
        np.maximum(path[:-1], path[1:]),
        np.minimum(path[:-1], path[1:]),
        path[1:],
        np.round(shares),
    )


def day_trades(day: date, minutes: MinuteBars, seed: int) -> Trades:
    """A model trade stream along a session's minute path (for tick bars): a Poisson number of
    prints per minute following the intraday volume shape, at prices moving from the minute's
    open to its close, sharing the minute's volume."""
    rng = np.random.default_rng([seed, day.toordinal(), 11])
    counts = rng.poisson(TRADES_PER_MINUTE * volatility_shape(len(minutes)))
    minute = np.repeat(np.arange(len(minutes)), counts)
    starts = np.repeat(np.cumsum(counts) - counts, counts)
    within = (np.arange(len(minute)) - starts + 0.5) / np.repeat(counts, counts)
    price = minutes.open[minute] + (minutes.close[minute] - minutes.open[minute]) * within
    size = np.maximum(np.round(minutes.volume[minute] / np.repeat(counts, counts)), 1.0)
    return Trades(minutes.start[minute] + 60.0 * within, price, size)


@dataclass
class IntradayMarket:
    """Minute bars and chains of one underlying over a span of sessions."""

    symbol: str
    daily: Bars  # the real daily path (and its history before the span)
    sessions: list[date]  # the sessions replayed, in order
    every: Timeframe  # chains (ticks) this often
    seed: int = 0
    vix: Bars | None = None
    contracts_per: int = 1200
    surface: SSVI = field(default_factory=SSVI)
    store: IntradayStore = field(default_factory=IntradayStore)
    _listings: dict[date, Listing] = field(default_factory=dict, repr=False)
    _grids: dict[date, ContractGrid] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        warm = self._daily_before(self.sessions[0], WARMUP_SESSIONS)
        days = [*warm, *self.sessions]
        parts = [day_minutes(d, self._bar(d), self.seed) for d in days]
        self.store.minutes[self.symbol] = MinuteBars(
            *(
                np.concatenate([getattr(p, f) for p in parts])
                for f in ("start", "open", "high", "low", "close", "volume")
            )
        )
        prints = [day_trades(d, p, self.seed) for d, p in zip(days, parts, strict=True)]
        self.store.trades[self.symbol] = Trades(
            *(np.concatenate([getattr(t, f) for t in prints]) for f in ("time", "price", "size"))
        )

    def _daily_before(self, day: date, count: int) -> list[date]:
        i = int(np.searchsorted(self.daily.dates, to_seconds(day)))
        return [from_seconds(float(s)) for s in self.daily.dates[max(i - count, 0) : i]]

    def _bar(self, day: date) -> tuple[float, float, float, float, float]:
        i = int(np.searchsorted(self.daily.dates, to_seconds(day)))
        d = self.daily
        return (
            float(d.open[i]),
            float(d.high[i]),
            float(d.low[i]),
            float(d.close[i]),
            float(d.volume[i]),
        )

    def times(self, day: date) -> list[datetime]:
        """Snapshot times of one session: every `every` from the first complete bar to 16:00."""
        step = self.every.seconds
        first = datetime.combine(day, OPEN, NEW_YORK)
        count = SESSION_MINUTES * 60 // step
        return [first + timedelta(seconds=step * (i + 1)) for i in range(count)]

    def snapshot(self, when: datetime) -> Chain:
        """The chain at `when`, with the minute bars complete by then and the daily bars of
        previous sessions (today's daily bar is not complete until the close)."""
        local = when.astimezone(NEW_YORK)
        day = local.date()
        view = self.store.at(when)
        spot = view.last_price(self.symbol)
        if spot is None:
            raise ValueError(f"no minute bars of {self.symbol} before {when}")
        close = datetime.combine(day, time(16, 0), NEW_YORK)
        left = max((close - local).total_seconds(), 0.0)
        elapsed = 1.0 - left / (SESSION_MINUTES * 60)
        chain = price_contracts(
            self._contracts_on(day),
            [spot],
            [self._level(day)],
            seed=self.seed * 100_003 + int(local.hour * 60 + local.minute),
            seconds_to_close=left,
            spread_factor=spread_factor(elapsed),
        )
        chain.bars = {self.symbol: self.daily.until(to_seconds(day) - 1)}
        chain.intraday = view
        chain.source = f"synthetic intraday {self.symbol} (seed {self.seed}, model-generated)"
        return chain

    def _contracts_on(self, day: date) -> ContractGrid:
        """The contracts listed on `day`: the strikes listed at each session's open (around the
        open's price) that have not expired, today's included; the same all day. Built session
        by session in order and kept per day, so a snapshot never depends on which snapshots
        were taken before it."""
        if day not in self._grids:
            known = [d for d in self.sessions if d < day and d in self._grids]
            todo = [d for d in self.sessions if (not known or d > known[-1]) and d <= day]
            listing = self._listings[known[-1]].copy() if known else Listing()
            for session in todo:
                self._grids[session] = list_contracts(
                    session,
                    [self._bar(session)[0]],
                    [self._level(session)],
                    [self.symbol],
                    contracts_per=self.contracts_per,
                    listings=[listing],
                    seconds_to_close=SESSION_MINUTES * 60.0,
                    daily_expiries=True,
                    min_width=MIN_WIDTH,
                )
                self._listings[session] = listing.copy()
        return self._grids[day]

    def _level(self, day: date) -> SSVI:
        if self.vix is None:
            return self.surface
        seconds = to_seconds(day)
        at = int(np.searchsorted(self.vix.dates, seconds))
        # the previous close: today's VIX close is not known intraday
        at = at - 1
        if 0 <= at < len(self.vix.dates) and np.isfinite(self.vix.close[at]):
            return self.surface.anchored(float(self.vix.close[at]) / 100.0)
        return self.surface


def spread_factor(elapsed: float) -> float:
    """How much wider than the daily model quotes are at this point of the session (0..1)."""
    if elapsed < 15 / SESSION_MINUTES:
        return 1.5
    into_close = (elapsed - (1.0 - 30 / SESSION_MINUTES)) / (30 / SESSION_MINUTES)
    return 1.0 + 2.0 * float(np.clip(into_close, 0.0, 1.0))


def intraday_market(
    daily: Bars,
    symbol: str,
    start: date,
    end: date,
    every: Timeframe,
    seed: int = 0,
    vix: Bars | None = None,
) -> IntradayMarket:
    sessions = [
        from_seconds(float(s))
        for s, c in zip(daily.dates, daily.close, strict=True)
        if to_seconds(start) <= s <= to_seconds(end) and np.isfinite(c)
    ]
    if not sessions:
        raise ValueError(f"no sessions of {symbol} between {start} and {end}")
    if every.ticks or every.daily or every.seconds > SESSION_MINUTES * 60:
        raise ValueError(f"chains every {every}: use whole minutes up to the session, e.g. 5m")
    return IntradayMarket(symbol, daily, sessions, every, seed, vix)
