"""The market the paper broker fills against: the latest snapshot the engine fed it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Protocol, runtime_checkable

from brokers.model import ChainEntry, Quote


@runtime_checkable
class Listing(Protocol):
    """One snapshot's entries by symbol. A replay feeds thousands of contracts a tick while
    orders and holdings read a few, so an implementation may build entries on demand."""

    underlyings: frozenset[str]

    def get(self, symbol: str) -> ChainEntry | None: ...

    def values(self) -> Iterable[ChainEntry]: ...


class EntryListing:
    """A Listing over entries already built."""

    def __init__(self, entries: Iterable[ChainEntry]) -> None:
        self._entries = {e.symbol: e for e in entries}
        self.underlyings = frozenset(e.underlying for e in self._entries.values())

    def get(self, symbol: str) -> ChainEntry | None:
        return self._entries.get(symbol)

    def values(self) -> Iterable[ChainEntry]:
        return self._entries.values()


class QuoteBook:
    """Latest chain entries, quotes and underlying prices, and the market time."""

    def __init__(self) -> None:
        self.time: datetime | None = None
        self._listings: dict[str, Listing] = {}  # underlying -> its latest snapshot
        self._underlyings: dict[str, Decimal] = {}
        self._model_marks: dict[str, Decimal] = {}

    def update(
        self,
        entries: Iterable[ChainEntry] | Listing,
        underlying_prices: Mapping[str, Decimal],
        time: datetime,
    ) -> None:
        """Replace the snapshot of the underlyings present in `entries`."""
        if time.tzinfo is None:
            raise ValueError("market time must be timezone-aware")
        listing = entries if isinstance(entries, Listing) else EntryListing(entries)
        for underlying in listing.underlyings:
            self._listings[underlying] = listing
        self._underlyings.update(underlying_prices)
        self.time = time

    def _entry(self, symbol: str) -> ChainEntry | None:
        for listing in {id(x): x for x in self._listings.values()}.values():
            entry = listing.get(symbol)
            # an older snapshot still current for another underlying does not answer
            if entry is not None and self._listings.get(entry.underlying) is listing:
                return entry
        return None

    def quote(self, symbol: str) -> Quote | None:
        entry = self._entry(symbol)
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
        return self._entry(symbol)

    def chain(self, underlying: str) -> list[ChainEntry]:
        listing = self._listings.get(underlying)
        if listing is None:
            return []
        return [e for e in listing.values() if e.underlying == underlying]

    def underlying_price(self, underlying: str) -> Decimal | None:
        return self._underlyings.get(underlying)

    def multiplier(self, symbol: str) -> int:
        entry = self._entry(symbol)
        if entry is not None:
            return entry.multiplier
        return 1 if symbol in self._underlyings else 100
