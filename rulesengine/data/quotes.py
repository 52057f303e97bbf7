"""A chain snapshot as broker-normalised entries: what the paper broker's book is fed."""

from __future__ import annotations

import math
from datetime import date
from decimal import Decimal

import numpy as np

from brokers.model import ChainEntry, OptionContract, Quote
from brokers.occ import padded
from rulesengine.data.chain import Chain, from_seconds


def _money(value: float) -> Decimal | None:
    return None if math.isnan(value) else Decimal(str(round(value, 4)))


def _number(value: float) -> float | None:
    return None if math.isnan(value) else float(value)


def chain_entries(chain: Chain) -> list[ChainEntry]:
    """One ChainEntry per row (a one-day snapshot); NaN quotes become None."""
    cols = chain.columns
    entries = []
    expiry_cache: dict[float, date] = {}
    for i in range(len(chain)):
        expiry = expiry_cache.setdefault(cols["expiry"][i], from_seconds(cols["expiry"][i]))
        symbol = padded(str(cols["symbol"][i]))
        quote = Quote(
            symbol=symbol,
            bid=_money(cols["bid"][i]),
            ask=_money(cols["ask"][i]),
            last=_money(cols["last"][i]),
            iv=_number(cols["iv"][i]),
            delta=_number(cols["delta"][i]),
            gamma=_number(cols["gamma"][i]),
            theta=_number(cols["theta"][i]),
            vega=_number(cols["vega"][i]),
            rho=_number(cols["rho"][i]),
        )
        contract = OptionContract(
            root=str(cols["root"][i]),
            expiry=expiry,
            right="C" if cols["type"][i] else "P",
            strike=Decimal(str(cols["strike"][i])),
        )
        entries.append(
            ChainEntry(
                symbol=symbol,
                underlying=str(cols["underlying_symbol"][i]),
                contract=contract,
                multiplier=int(cols["multiplier"][i])
                if not np.isnan(cols["multiplier"][i])
                else 100,
                settlement="PM" if cols["settlement"][i] else "AM",
                style="american" if cols["style"][i] else "european",
                quote=quote,
            )
        )
    return entries


def underlying_prices(chain: Chain) -> dict[str, Decimal]:
    symbols, first = np.unique(chain.columns["underlying_symbol"], return_index=True)
    prices = chain.columns["underlying_price"][first]
    return {str(s): Decimal(str(round(float(p), 4))) for s, p in zip(symbols, prices, strict=True)}
