"""A chain snapshot as broker-normalised entries: what the paper broker's book is fed."""

from __future__ import annotations

import math
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import numpy as np

from brokers.model import ChainEntry, OptionContract, Quote
from brokers.occ import padded
from brokers.wire import GREEKS
from rulesengine.data.chain import COLUMNS, Chain, from_seconds, to_seconds

NEW_YORK = ZoneInfo("America/New_York")


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
        bid, ask, last, iv, delta, gamma, theta, vega, rho = prices  # GREEKS' order
        symbol = padded(symbol)
        quote = Quote(
            symbol,
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
