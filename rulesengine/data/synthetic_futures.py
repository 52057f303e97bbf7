"""Synthetic equity index futures: daily snapshots of each root's listed quarterly contracts.

Each contract is priced off an index path at cost of carry, F = S x exp(CARRY x T), rounded
to its tick and quoted a tick either side (so its mid is on a tick, and so are marks and
settlements); `underlying_price` is the front month's (the contract
traded until its roll date), so `price`, `close` and indicators read what a futures trader
charts. The /ES and /MES roots follow the S&P 500 itself; /NQ, /MNQ, /RTY and /M2K follow it
with their own leverage and level (no Nasdaq-100 or Russell 2000 history is bundled): a model
path, said in the market's label. Bars are the front month's closes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import numpy as np

from brokers.futures import FUTURES, front_month, listed
from rulesengine.data.chain import COLUMNS, Bars, Chain, from_seconds, to_seconds
from rulesengine.data.intraday import NEW_YORK
from rulesengine.data.synthetic_intraday import IntradayMarket

CARRY = 0.01  # rates less dividends, a year: the futures' premium over the index
# root's index -> (leverage on the S&P 500's returns, level at the start of the span's year)
PATHS = {"SPX": (1.0, None), "NDX": (1.3, 6_500.0), "RUT": (1.2, 1_500.0)}


def futures_history(sp500: Bars, root: str, start: date, end: date) -> Chain:
    """Daily snapshots of `root`'s two nearest quarterly contracts from `start` to `end`."""
    spec = FUTURES[root]
    index = _index_path(sp500, spec.index, start)
    days = [
        (float(d), float(c))
        for d, c in zip(index.dates, index.close, strict=True)
        if to_seconds(start) <= d <= to_seconds(end) and np.isfinite(c)
    ]
    if not days:
        raise ValueError(f"no S&P 500 bars between {start} and {end}")
    snapshots = [_snapshot(root, from_seconds(d), c) for d, c in days]
    columns = {name: np.concatenate([s[name] for s in snapshots]) for name in COLUMNS}
    chain = Chain(columns, source=f"synthetic {root} futures")
    chain.bars[root] = front_month_bars(index, root)
    return chain


def front_month_bars(index: Bars, root: str) -> Bars:
    """The front contract's daily closes over the whole index history (for indicators)."""
    tick = float(FUTURES[root].tick)
    closes = {}
    for seconds, close in zip(index.dates, index.close, strict=True):
        if np.isfinite(close):
            day = from_seconds(float(seconds))
            closes[float(seconds)] = _price(float(close), front_month(root, day).expiry, day, tick)
    return Bars.from_closes(closes)


def _index_path(sp500: Bars, index: str, start: date) -> Bars:
    leverage, level = PATHS[index]
    if level is None:
        return sp500
    first = to_seconds(date(start.year, 1, 1))
    at = min(int(np.searchsorted(sp500.dates, first)), len(sp500.dates) - 1)
    scaled = level * (sp500.close / sp500.close[at]) ** leverage
    nan = np.full_like(scaled, np.nan)
    return Bars(sp500.dates, nan, nan, nan, np.round(scaled, 2), sp500.volume)


def _price(index: float, expiry: date, day: date, tick: float) -> float:
    years = max((expiry - day).days, 0) / 365.0
    return round(index * np.exp(CARRY * years) / tick) * tick


def _snapshot(root: str, day: date, index: float) -> dict[str, np.ndarray]:
    spec = FUTURES[root]
    tick = float(spec.tick)
    contracts = listed(root, day, 2)
    front = front_month(root, day)
    front_mid = _price(index, front.expiry, day, tick)
    n = len(contracts)
    mids = np.array([_price(index, c.expiry, day, tick) for c in contracts])
    volume = np.array([250_000.0 if c == front else 20_000.0 for c in contracts])
    columns = {
        "underlying_symbol": np.array([root] * n),
        "root": np.array([root] * n),
        "symbol": np.array([c.symbol for c in contracts]),
        "type": np.full(n, 2, dtype="i1"),  # check.names.ENUMS option_type: future
        "style": np.zeros(n, dtype="i1"),
        "settlement": np.zeros(n, dtype="i1"),
        "strike": np.full(n, np.nan),
        "expiry": np.array([to_seconds(c.expiry) for c in contracts]),
        "quote_date": np.full(n, to_seconds(day)),
        "bid": mids - tick,
        "ask": mids + tick,
        "last": mids,
        "volume": volume,
        "open_interest": volume * 8,
        "iv": np.full(n, np.nan),
        "delta": np.ones(n),  # per point of the contract's price (x multiplier / 100 in legs)
        "gamma": np.zeros(n),
        "theta": np.zeros(n),
        "vega": np.zeros(n),
        "rho": np.zeros(n),
        "underlying_price": np.full(n, front_mid),
        "forward": mids,
        "interpolated": np.zeros(n, dtype=bool),
        "multiplier": np.full(n, float(spec.multiplier)),
        "quote_age": np.zeros(n),
    }
    return {
        name: np.asarray(columns[name], dtype=COLUMNS[name] if COLUMNS[name] != "U" else None)
        for name in COLUMNS
    }


def front_month_ohlc(index: Bars, root: str) -> Bars:
    """The front contract's daily bars (open, high, low, close at cost of carry, on ticks),
    from the index's: what an intraday futures path is drawn inside."""
    tick = float(FUTURES[root].tick)
    days = [from_seconds(float(s)) for s in index.dates]
    carry = np.array(
        [np.exp(CARRY * max((front_month(root, d).expiry - d).days, 0) / 365.0) for d in days]
    )

    def on_ticks(series: np.ndarray) -> np.ndarray:
        return np.round(series * carry / tick) * tick

    return Bars(
        index.dates, on_ticks(index.open), on_ticks(index.high), on_ticks(index.low),
        on_ticks(index.close), index.volume,
    )  # fmt: skip


@dataclass
class IntradayFutures(IntradayMarket):
    """A futures root's contracts every few minutes: the front month follows a minute path
    drawn inside its daily bar (as the intraday SPX market's index does), the other contract
    at cost of carry from it; indicators read the front month's minute bars."""

    def snapshot(self, when: datetime) -> Chain:
        day = when.astimezone(NEW_YORK).date()
        view = self.store.at(when)
        front_price = view.last_price(self.symbol)
        if front_price is None:
            raise ValueError(f"no minute bars of {self.symbol} before {when}")
        years = max((front_month(self.symbol, day).expiry - day).days, 0) / 365.0
        index = front_price / np.exp(CARRY * years)
        columns = _snapshot(self.symbol, day, index)
        columns["quote_date"] = np.full(len(columns["symbol"]), to_seconds(day))
        chain = Chain(columns, source=f"synthetic intraday {self.symbol} futures")
        chain.bars = {self.symbol: self.daily.until(to_seconds(day) - 1)}
        chain.intraday = view
        return chain
