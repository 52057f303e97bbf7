"""A chain snapshot as broker-normalised entries: what the paper broker's book is fed."""

from __future__ import annotations

import math
from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from zoneinfo import ZoneInfo

import numpy as np

from brokers.model import ChainEntry, OptionContract, Quote
from brokers.occ import padded
from brokers.wire import GREEKS
from rulesengine.data.chain import COLUMNS, Chain, from_seconds, to_seconds
from rulesengine.data.sanity import MAX_PRICE

NEW_YORK = ZoneInfo("America/New_York")


def _money(value: float) -> Decimal | None:
    return None if math.isnan(value) else _decimal(round(value, 4))


@lru_cache(maxsize=65_536)
def _decimal(value: float) -> Decimal:
    """Quotes repeat (ticks, strikes): each distinct price is converted once."""
    return Decimal(str(value))


def _number(value: float) -> float | None:
    return None if math.isnan(value) else value


_ENTRY_COLUMNS = (
    "symbol",
    "root",
    "underlying_symbol",
    "expiry",
    "type",
    "strike",
    "multiplier",
    "settlement",
    "style",
    "bid",
    "ask",
    "last",
    "iv",
    *GREEKS,
)
_BID, _LAST = _ENTRY_COLUMNS.index("bid"), _ENTRY_COLUMNS.index("last")


def _all_padded(symbols: np.ndarray) -> bool:
    """Every symbol already in padded OCC form (21 characters, the root's spaces kept): the
    common case of synthetic and normalised chains, checked without a regex per row."""
    if not len(symbols):
        return True
    text = symbols.astype(str)
    if not bool(np.all(np.char.str_len(text) == 21)):
        return False
    return all(padded(s) == s for s in text[:: max(len(text) // 16, 1)].tolist())


class SnapshotListing:
    """A one-day snapshot as the paper broker's Listing: entries built when asked for (a
    replay feeds every contract every tick; orders and holdings read a handful)."""

    def __init__(self, chain: Chain) -> None:
        self._columns = [chain.columns[name] for name in _ENTRY_COLUMNS]
        self._usable = chain.column("quote_ok")  # a rejected quote is listed without prices
        self._symbols = chain.columns["symbol"]
        self._index: dict[str, int] | None = None  # built on first lookup
        self._built: dict[int, ChainEntry] = {}
        self.underlyings = frozenset(str(u) for u in chain.underlyings())

    @property
    def _rows(self) -> dict[str, int]:
        if self._index is None:
            names = self._symbols.astype(str).tolist()
            if not _all_padded(self._symbols):
                names = [padded(s) for s in names]
            self._index = dict(zip(names, range(len(names)), strict=True))
        return self._index

    def get(self, symbol: str) -> ChainEntry | None:
        row = self._rows.get(symbol)
        return None if row is None else self._entry(row)

    def values(self) -> list[ChainEntry]:
        return [self._entry(row) for row in self._rows.values()]

    def _entry(self, row: int) -> ChainEntry:
        if row not in self._built:
            values = [column[row].item() for column in self._columns]
            if not self._usable[row]:
                values[_BID : _LAST + 1] = [math.nan] * (_LAST + 1 - _BID)
            self._built[row] = _entry(*values)
        return self._built[row]


def chain_entries(chain: Chain) -> list[ChainEntry]:
    """One ChainEntry per row (a one-day snapshot); NaN quotes become None."""
    return SnapshotListing(chain).values()


def _entry(
    symbol, root, underlying, expiry, kind, strike, mult, settle, style, *prices
) -> ChainEntry:
    bid, ask, last, iv, delta, gamma, theta, vega, rho = prices  # GREEKS' order
    quote = Quote(
        padded(symbol),
        bid=_money(bid),
        ask=_money(ask),
        last=_money(last),
        iv=_number(iv),
        delta=_number(delta),
        gamma=_number(gamma),
        theta=_number(theta),
        vega=_number(vega),
        rho=_number(rho),
    )
    contract = OptionContract(root, from_seconds(expiry), "C" if kind else "P", _decimal(strike))
    return ChainEntry(
        quote.symbol,
        underlying,
        contract,
        multiplier=100 if math.isnan(mult) else int(mult),
        settlement="PM" if settle else "AM",
        style="american" if style else "european",
        quote=quote,
    )


def underlying_prices(chain: Chain) -> dict[str, Decimal]:
    symbols, first, _ = chain.underlying_groups()
    prices = chain.columns["underlying_price"][first]
    return {
        str(s): Decimal(str(round(float(p), 4)))
        for s, p in zip(symbols, prices, strict=True)
        if math.isfinite(p) and 0 < p <= MAX_PRICE  # a corrupt print is no price
    }


def chain_from_entries(
    entries: list[ChainEntry], underlying_prices: dict[str, Decimal], as_of: datetime
) -> Chain:
    """A one-day Chain from a broker's chain entries (the inverse of `chain_entries`).

    Brokers' chains carry no volume or open interest: those columns are NaN, so clauses
    reading them match nothing (a scan says so)."""
    day = to_seconds(as_of.astimezone(NEW_YORK).date())
    nan = float("nan")
    columns: dict[str, list] = {name: [] for name in COLUMNS}
    for e in entries:
        q = e.quote or Quote(e.symbol)
        price = underlying_prices.get(e.underlying)
        age = (as_of - q.time).total_seconds() if q.time is not None else 0.0
        values = {
            "underlying_symbol": e.underlying,
            "root": e.contract.root,
            "symbol": e.symbol,
            "type": 1 if e.contract.is_call else 0,
            "style": 1 if e.style == "american" else 0,
            "settlement": 0 if (e.settlement or "PM").upper() == "AM" else 1,
            "strike": float(e.contract.strike),
            "expiry": to_seconds(e.contract.expiry),
            "quote_date": day,
            "bid": _float(q.bid),
            "ask": _float(q.ask),
            "last": _float(q.last),
            "volume": nan,
            "open_interest": nan,
            "iv": nan if q.iv is None else q.iv,
            **{g: nan if getattr(q, g) is None else getattr(q, g) for g in GREEKS},
            "underlying_price": _float(price),
            "forward": _float(price),
            "interpolated": False,
            "multiplier": float(e.multiplier),
            "quote_age": max(age, 0.0),
        }
        for name, value in values.items():
            columns[name].append(value)
    return Chain({name: np.array(v, dtype=COLUMNS[name]) for name, v in columns.items()})


def _float(value: Decimal | None) -> float:
    return float("nan") if value is None else float(value)
