"""A chain snapshot as broker-normalised entries: what the paper broker's book is fed."""

from __future__ import annotations

import math
from decimal import Decimal

import numpy as np

from brokers.model import ChainEntry, OptionContract, Quote
from brokers.occ import padded
from brokers.wire import GREEKS
from rulesengine.data.chain import Chain, from_seconds


def _money(value: float) -> Decimal | None:
    return None if math.isnan(value) else Decimal(str(round(value, 4)))


def _number(value: float) -> float | None:
    return None if math.isnan(value) else value


def chain_entries(chain: Chain) -> list[ChainEntry]:
    """One ChainEntry per row (a one-day snapshot); NaN quotes become None."""
    names = (
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
    rows = zip(*(chain.columns[name].tolist() for name in names), strict=True)
    expiries = {e: from_seconds(e) for e in np.unique(chain.columns["expiry"]).tolist()}
    entries = []
    for symbol, root, underlying, expiry, kind, strike, mult, settle, style, *prices in rows:
        bid, ask, last, iv, *sensitivities = prices
        symbol = padded(symbol)
        quote = Quote(
            symbol,
            bid=_money(bid),
            ask=_money(ask),
            last=_money(last),
            iv=_number(iv),
            **{g: _number(v) for g, v in zip(GREEKS, sensitivities, strict=True)},
        )
        contract = OptionContract(
            root, expiries[expiry], "C" if kind else "P", Decimal(str(strike))
        )
        entries.append(
            ChainEntry(
                symbol,
                underlying,
                contract,
                multiplier=100 if math.isnan(mult) else int(mult),
                settlement="PM" if settle else "AM",
                style="american" if style else "european",
                quote=quote,
            )
        )
    return entries


def underlying_prices(chain: Chain) -> dict[str, Decimal]:
    symbols, first = np.unique(chain.columns["underlying_symbol"], return_index=True)
    prices = chain.columns["underlying_price"][first]
    return {str(s): Decimal(str(round(float(p), 4))) for s, p in zip(symbols, prices, strict=True)}
