"""Marks from the model for held contracts that a snapshot does not quote.

A held leg missing from the chain (a strike the data source skipped, a quote that failed the
sanity checks, a recorded file with gaps) used to be valued at its entry price while the other
legs moved with the market: a phantom P&L of thousands of dollars on a spread worth at most a
thousand. Instead, the missing contract is priced like its neighbours: Black-Scholes on the
parity forward of its expiry (Black-76, undiscounted) at the implied volatility interpolated in
strike from the same expiry and type (the nearest quoted expiry when its own has none); at
expiry, its intrinsic value. The rows are appended to a copy of the snapshot so that the same
vectorised structure code marks every position; `model_rows` says which rows are models.

Model rows value positions and feed exits. They are never traded: entries scan the real
snapshot, and a closing order needs a real quote for every leg.
"""

from __future__ import annotations

from collections.abc import Container, Iterable
from dataclasses import dataclass
from datetime import date

import numpy as np

from brokers.settlement import intrinsic
from rulesengine.analytics.bsm import DAYS_PER_YEAR, bsm_greeks
from rulesengine.data.chain import COLUMNS, DAY, Chain, to_seconds
from rulesengine.engine.positions import PositionLeg


@dataclass(frozen=True)
class Marked:
    chain: Chain  # the snapshot plus one model row per missing held contract
    first_model_row: int  # rows from here on are model marks

    def is_model(self, rows: np.ndarray) -> np.ndarray:
        return rows >= self.first_model_row


def with_model_rows(
    chain: Chain, known: Container[str], held: Iterable[tuple[str, PositionLeg]]
) -> Marked:
    """`held` is (underlying, leg) for every option leg of every open position; `known` the
    symbols the snapshot quotes."""
    wanted: dict[str, tuple[str, PositionLeg]] = {}
    for underlying, leg in held:
        if leg.kind != "stock" and leg.symbol not in known:
            wanted.setdefault(leg.symbol, (underlying, leg))
    priced = (_model_row(chain, underlying, leg) for underlying, leg in wanted.values())
    rows = [row for row in priced if row is not None]  # None: no data for the underlying
    if not rows:
        return Marked(chain, len(chain))
    extra = {name: np.array([r[name] for r in rows]) for name in COLUMNS}
    columns = {
        name: np.concatenate([chain.columns[name], extra[name].astype(chain.columns[name].dtype)])
        if COLUMNS[name] != "U"
        else np.concatenate([chain.columns[name].astype(str), extra[name].astype(str)])
        for name in COLUMNS
    }
    augmented = Chain(columns, chain.bars, chain.source, chain.iv_history, intraday=chain.intraday)
    # keep this snapshot's screening (jumps included); model rows are the model's own prices
    screened = chain.column("quote_problem")
    augmented._cache["quote_problem"] = np.concatenate([screened, np.zeros(len(rows), np.int8)])
    return Marked(augmented, len(chain))


def _model_row(chain: Chain, underlying: str, leg: PositionLeg) -> dict | None:
    mine = np.flatnonzero(chain.column("underlying_symbol") == underlying)
    if mine.size == 0:
        return None
    is_call = leg.kind == "call"
    expiry = to_seconds(date.fromisoformat(leg.expiry))
    sound = mine[chain.column("quote_ok")[mine]]
    template = int(sound[0] if len(sound) else mine[0])  # not a row a bad print corrupted
    quote_date = float(chain.column("quote_date")[template])
    days = max((expiry - quote_date) / DAY, 0.0)
    spot = float(chain.column("underlying_price")[template])
    forward, vol = _forward_and_vol(chain, mine, expiry, leg.strike, is_call, spot)
    if days <= 0 or not np.isfinite(vol):
        if days > 0:
            return None  # no volatility anywhere on this underlying: cannot price
        price = intrinsic("C" if is_call else "P", leg.strike, spot)
        in_the_money = price > 0
        delta = (1.0 if is_call else -1.0) if in_the_money else 0.0
        greeks = {"delta": delta, "gamma": 0.0, "theta": 0.0, "vega": 0.0, "rho": 0.0}
    else:
        g = bsm_greeks(forward, leg.strike, days / DAYS_PER_YEAR, vol, 0.0, 0.0, is_call)
        price = float(g.price)
        greeks = {n: float(getattr(g, n)) for n in ("delta", "gamma", "theta", "vega", "rho")}
    row = {name: chain.columns[name][template] for name in COLUMNS}
    row.update(
        symbol=leg.symbol,
        type=int(is_call),
        strike=leg.strike,
        expiry=expiry,
        bid=price,
        ask=price,
        last=price,
        volume=0.0,
        open_interest=np.nan,
        iv=vol,
        forward=forward,
        interpolated=True,
        quote_age=0.0,
        **greeks,
    )
    return row


def _forward_and_vol(
    chain: Chain, mine: np.ndarray, expiry: float, strike: float, call: bool, spot: float
) -> tuple[float, float]:
    """The expiry's parity forward and the IV interpolated in strike among quoted contracts
    of the same type, on the same expiry or else the nearest one that has IVs."""
    iv = chain.column("iv")[mine]
    same_type = chain.column("type")[mine] == int(call)
    usable = same_type & np.isfinite(iv) & (iv > 0) & chain.column("quote_ok")[mine]
    if not usable.any():
        return spot, float("nan")
    expiries = chain.column("expiry")[mine]
    candidates = np.unique(expiries[usable])
    nearest = candidates[np.argmin(np.abs(candidates - expiry))]
    on = usable & (expiries == nearest)
    strikes, vols = chain.column("strike")[mine][on], iv[on]
    order = np.argsort(strikes)
    vol = float(np.interp(strike, strikes[order], vols[order]))
    forwards = chain.column("forward")[mine][expiries == expiry]
    forwards = forwards[np.isfinite(forwards)]
    return (float(forwards[0]) if forwards.size else spot), vol
