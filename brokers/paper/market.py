"""The market the paper broker fills against: the latest snapshot the engine fed it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from decimal import Decimal

from brokers.model import ChainEntry, Quote


class QuoteBook:
    """Latest chain entries, quotes and underlying prices, and the market time."""

    def __init__(self) -> None:
        self.time: datetime | None = None
        self._entries: dict[str, ChainEntry] = {}
        self._by_underlying: dict[str, list[ChainEntry]] = {}
        self._underlyings: dict[str, Decimal] = {}
        self._model_marks: dict[str, Decimal] = {}

    def update(
        self,
        entries: Iterable[ChainEntry],
        underlying_prices: Mapping[str, Decimal],
        time: datetime,
    ) -> None:
        """Replace the snapshot of the underlyings present in `entries`."""
        if time.tzinfo is None:
            raise ValueError("market time must be timezone-aware")
        fresh: dict[str, list[ChainEntry]] = {}
        for entry in entries:
            fresh.setdefault(entry.underlying, []).append(entry)
        for underlying, listed in fresh.items():
            for old in self._by_underlying.get(underlying, []):
                self._entries.pop(old.symbol, None)
            self._by_underlying[underlying] = listed
            self._entries.update((e.symbol, e) for e in listed)
        self._underlyings.update(underlying_prices)
        self.time = time

    def quote(self, symbol: str) -> Quote | None:
        entry = self._entries.get(symbol)
        if entry is not None:
            return entry.quote
        price = self._underlyings.get(symbol)
        return (
            None
            if price is None
            else Quote(symbol, bid=price, ask=price, last=price, time=self.time)
        )

    def set_model_marks(self, marks: Mapping[str, Decimal]) -> None:
        """Valuation marks from the engine's model for held contracts the snapshot lacks.
        They value the account (net liq) and are never quotes: nothing fills against them."""
        self._model_marks = dict(marks)

    def model_mark(self, symbol: str) -> Decimal | None:
        return self._model_marks.get(symbol)

    def underlying_prices(self) -> dict[str, Decimal]:
        return dict(self._underlyings)

    def entry(self, symbol: str) -> ChainEntry | None:
        return self._entries.get(symbol)

    def chain(self, underlying: str) -> list[ChainEntry]:
        return list(self._by_underlying.get(underlying, []))

    def underlying_price(self, underlying: str) -> Decimal | None:
        return self._underlyings.get(underlying)

    def multiplier(self, symbol: str) -> int:
        entry = self._entries.get(symbol)
        if entry is not None:
            return entry.multiplier
        return 1 if symbol in self._underlyings else 100
