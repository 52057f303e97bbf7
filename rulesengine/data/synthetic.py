"""Synthetic option chains: an arbitrage-free SSVI surface over a price path, with bid/ask,
open interest and volume modelled on the real SPX week. Deterministic by seed.

Quotes are Black-Scholes values at the surface's vol (so the mids carry no static arbitrage),
widened into a bid/ask by a spread model and rounded to SPX ticks. The quote model's
coefficients are least-squares fits on the bundled SPX file (non-interpolated rows; see
`tests/data/test_synthetic.py`, which refits them):
    ln(spread)       = -1.0228 + 0.4408 ln(mid) - 0.6011 |delta| + 0.1213 ln(dte + 1) + N(0, 0.437)
    ln(OI + 1)       =  7.608 + 7.8681 |delta| - 12.0839 delta^2 - 0.5254 ln(dte + 1) + N(0, 3.456)
    P(traded today)  =  0.7905 + 1.5106 |delta| - 1.8091 delta^2 - 0.1219 ln(dte + 1)
    ln(volume | > 0) =  5.8886 + 6.6755 |delta| - 9.5222 delta^2 - 0.3566 ln(dte + 1) + N(0, 2.484)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

from rulesengine.analytics.bsm import bsm_greeks
from rulesengine.analytics.ssvi import SSVI
from rulesengine.data.chain import COLUMNS, Bars, Chain, from_seconds, to_seconds
from rulesengine.data.expiries import third_friday


@dataclass(frozen=True)
class QuoteModel:
    spread: tuple[float, ...] = (-1.0228, 0.4408, -0.6011, 0.1213)
    spread_noise: float = 0.437
    open_interest: tuple[float, ...] = (7.608, 7.8681, -12.0839, -0.5254)
    open_interest_noise: float = 3.456
    traded: tuple[float, ...] = (0.7905, 1.5106, -1.8091, -0.1219)
    volume: tuple[float, ...] = (5.8886, 6.6755, -9.5222, -0.3566)
    volume_noise: float = 2.484


def expiries(day: date, daily: bool = False) -> list[date]:
    """Listed expiries seen from `day`: Fridays for 8 weeks, monthlies for a year, quarterlies
    (Mar, Jun, Sep, Dec) for two years; with `daily`, every weekday of the next week too (SPXW
    lists an expiry each session, so there is always a same-day one)."""
    out = {day + timedelta(days=(4 - day.weekday()) % 7 + 7 * w) for w in range(8)}
    if daily:
        out |= {d for d in (day + timedelta(days=i) for i in range(7)) if d.weekday() < 5}
    for months in range(25):
        month = (day.month - 1 + months) % 12 + 1
        year = day.year + (day.month - 1 + months) // 12
        if months <= 12 or month % 3 == 0:
            out.add(third_friday(year, month))
    return sorted(e for e in out if e >= day)


def _nice_step(raw: np.ndarray) -> np.ndarray:
    """The largest of 1, 2.5, 5 x 10^n not above `raw` (strike increments)."""
    power = 10.0 ** np.floor(np.log10(raw))
    mantissa = raw / power
    return power * np.where(mantissa >= 5, 5.0, np.where(mantissa >= 2.5, 2.5, 1.0))


def _tick(price: np.ndarray, up: bool) -> np.ndarray:
    """Round to SPX ticks: 0.05 below $3, 0.10 above."""
    tick = np.where(price < 3.0, 0.05, 0.10)
    steps = price / tick
    return (np.ceil(steps - 1e-9) if up else np.floor(steps + 1e-9)) * tick


LISTED_RANGE = (0.5, 2.0)  # strikes listed between half and twice the forward, at most


class Listing:
    """Strikes listed per expiry of one underlying, kept for the life of each series.

    A real exchange adds strikes as the price moves (and finer ones as expiry nears) and never
    delists one with open interest: a position opened on a strike stays quoted until it
    expires. Listings stay between half and twice the forward."""

    def __init__(self) -> None:
        self.strikes: dict[date, np.ndarray] = {}

    def copy(self) -> Listing:
        """An independent listing (extend replaces arrays, never changes one in place)."""
        twin = Listing()
        twin.strikes = dict(self.strikes)
        return twin

    def extend(self, day: date, expiry: date, fresh: np.ndarray) -> np.ndarray:
        for old in [e for e in self.strikes if e < day]:
            del self.strikes[old]
        known = self.strikes.get(expiry)
        listed = fresh if known is None else np.union1d(known, fresh)
        self.strikes[expiry] = listed
        return listed


@dataclass(frozen=True)
class ContractGrid:
    """The contracts listed on one day: one row per (underlying, expiry, strike, put/call)."""

    day: date
    listed: list[date]  # expiries
    u_of: np.ndarray
    e_of: np.ndarray
    strike: np.ndarray
    is_call: np.ndarray
    names: np.ndarray  # underlying symbol per row
    symbols: np.ndarray  # OCC symbol per row


def _years(day: date, listed: list[date], seconds_to_close: float | None) -> np.ndarray:
    """Time to each expiry: end of day (a same-day expiry has a quarter day left) or, intraday,
    the seconds left to each expiry's 16:00 close."""
    if seconds_to_close is None:
        return np.array([max((e - day).days, 0.25) / 365.0 for e in listed])
    left = [(e - day).days * 86_400.0 + seconds_to_close for e in listed]
    return np.array([max(s, 60.0) / (365.0 * 86_400.0) for s in left])


def list_contracts(
    day: date,
    anchors,
    surfaces: list[SSVI],
    symbols: list[str],
    contracts_per: int = 2000,
    rate: float = 0.0,
    listings: list[Listing] | None = None,
    seconds_to_close: float | None = None,
    daily_expiries: bool = False,
    min_width: float = 0.1,
    max_expiries: int | None = None,
) -> ContractGrid:
    """The strikes listed around `anchors` (one price per underlying), about `contracts_per`
    contracts each, plus those `listings` kept from earlier days."""
    anchors = np.asarray(anchors, dtype=float)
    listed = expiries(day, daily_expiries)[:max_expiries]
    n_u, n_e = len(anchors), len(listed)
    n_k = max(contracts_per // (2 * n_e), 2)
    years = _years(day, listed, seconds_to_close)
    atm = np.array([[float(s.implied_vol(0.0, t)) for t in years] for s in surfaces])  # (U, E)
    listed_at = anchors[:, None] * np.exp(rate * years)[None, :]
    # strikes evenly spaced from F e^(-w) to F e^(w), w = 4 standard deviations (at least
    # `min_width`: 10% end of day; intraday a same-day expiry needs its strikes close together)
    width = np.maximum(min_width, 4.0 * atm * np.sqrt(years)[None, :])
    low, high = listed_at * np.exp(-width), listed_at * np.exp(width)
    step = _nice_step((high - low) / (n_k - 1))
    grid = np.linspace(0.0, 1.0, n_k)
    raw = low[..., None] + grid * (high - low)[..., None]
    strikes = np.maximum(np.round(raw / step[..., None]), 1.0) * step[..., None]  # (U, E, K)
    # one row per (underlying, expiry, strike, put/call), strikes per series may differ
    u_idx, e_idx, k_val = [], [], []
    for u in range(n_u):
        for e, expiry in enumerate(listed):
            ks = np.unique(strikes[u, e])
            if listings is not None:  # today's strikes join those listed before
                lo, hi = (listed_at[u, e] * bound for bound in LISTED_RANGE)
                ks = listings[u].extend(day, expiry, ks[(ks >= lo) & (ks <= hi)])
            u_idx.append(np.full(ks.size, u))
            e_idx.append(np.full(ks.size, e))
            k_val.append(ks)
    u_of = np.repeat(np.concatenate(u_idx), 2)
    e_of = np.repeat(np.concatenate(e_idx), 2)
    k = np.repeat(np.concatenate(k_val), 2)
    is_call = np.tile(np.array([True, False]), k.size // 2)
    names = np.array(symbols, dtype="U8")[u_of]
    expiry_seconds = np.array([to_seconds(e) for e in listed])[e_of]
    occ = _occ_symbols(names, expiry_seconds, is_call, k)
    return ContractGrid(day, listed, u_of, e_of, k, is_call, names, occ)


def synthetic_chain(
    day: date,
    spots,
    surfaces: list[SSVI],
    symbols: list[str],
    seed: int = 0,
    contracts_per: int = 2000,
    rate: float = 0.0,
    model: QuoteModel = QuoteModel(),
    listings: list[Listing] | None = None,
) -> Chain:
    """One quote date for several underlyings: about `contracts_per` contracts each, plus the
    strikes `listings` (one per underlying) kept listed from earlier days."""
    grid = list_contracts(day, spots, surfaces, symbols, contracts_per, rate, listings)
    return price_contracts(grid, spots, surfaces, seed, rate, model)


def price_contracts(
    grid: ContractGrid,
    spots,
    surfaces: list[SSVI],
    seed: int = 0,
    rate: float = 0.0,
    model: QuoteModel = QuoteModel(),
    seconds_to_close: float | None = None,
    spread_factor: float = 1.0,
) -> Chain:
    """Quotes for a day's listed contracts: Black-Scholes at the surface's vol, at the time left
    (end of day by default, or `seconds_to_close` intraday), widened into bid/ask."""
    spots = np.asarray(spots, dtype=float)
    day = grid.day
    rng = np.random.default_rng([seed, day.toordinal()])
    years = _years(day, grid.listed, seconds_to_close)
    forward = spots[:, None] * np.exp(rate * years)[None, :]
    u_of, e_of, k, is_call = grid.u_of, grid.e_of, grid.strike, grid.is_call
    t, f, s = years[e_of], forward[u_of, e_of], spots[u_of]
    vol = np.empty(k.size)
    for u, surface in enumerate(surfaces):
        mine = u_of == u
        vol[mine] = surface.implied_vol(np.log(k[mine] / f[mine]), t[mine])
    g = bsm_greeks(s, k, t, vol, rate, 0.0, is_call)
    mid, delta = np.asarray(g.price, float), np.asarray(g.delta, float)
    dte = np.round(t * 365.0)
    quotes = _quotes(rng, np.maximum(mid, 0.0), np.abs(delta), dte, model, spread_factor)
    n = mid.size
    expiry_seconds = np.array([to_seconds(e) for e in grid.listed])
    columns = {
        "underlying_symbol": grid.names,
        "root": grid.names,
        "symbol": grid.symbols,
        "type": is_call.astype("i1"),
        "style": np.zeros(n, dtype="i1"),
        "settlement": np.ones(n, dtype="i1"),
        "strike": k,
        "expiry": expiry_seconds[e_of],
        "quote_date": np.full(n, to_seconds(day)),
        "last": mid,
        "iv": vol,
        "delta": delta,
        "gamma": np.asarray(g.gamma, float),
        "theta": np.asarray(g.theta, float),
        "vega": np.asarray(g.vega, float),
        "rho": np.asarray(g.rho, float),
        "underlying_price": s,
        "forward": f,
        "interpolated": np.zeros(n, dtype=bool),
        "multiplier": np.full(n, 100.0),
        "quote_age": np.zeros(n),
        **quotes,
    }
    return Chain(
        {
            name: np.asarray(columns[name], dtype=COLUMNS[name] if COLUMNS[name] != "U" else None)
            for name in COLUMNS
        },
        source=f"synthetic SSVI (seed {seed})",
    )


def _quotes(
    rng, mid, abs_delta, dte, model: QuoteModel, widen: float = 1.0
) -> dict[str, np.ndarray]:
    log_dte = np.log(dte + 1.0)
    with np.errstate(divide="ignore"):
        c = model.spread
        spread = np.exp(
            c[0]
            + c[1] * np.log(np.maximum(mid, 0.01))
            + c[2] * abs_delta
            + c[3] * log_dte
            + model.spread_noise * rng.standard_normal(mid.size)
        )
    spread = spread * widen
    bid = np.maximum(_tick(mid - spread / 2.0, up=False), 0.0)
    ask = np.maximum(_tick(mid + spread / 2.0, up=True), bid + 0.05)
    o = model.open_interest
    oi = (
        np.exp(
            o[0]
            + o[1] * abs_delta
            + o[2] * abs_delta**2
            + o[3] * log_dte
            + model.open_interest_noise * rng.standard_normal(mid.size)
        )
        - 1.0
    )
    p = model.traded
    traded = rng.random(mid.size) < np.clip(
        p[0] + p[1] * abs_delta + p[2] * abs_delta**2 + p[3] * log_dte, 0.01, 0.99
    )
    v = model.volume
    volume = np.exp(
        v[0]
        + v[1] * abs_delta
        + v[2] * abs_delta**2
        + v[3] * log_dte
        + model.volume_noise * rng.standard_normal(mid.size)
    )
    return {
        "bid": np.round(bid, 2),
        "ask": np.round(ask, 2),
        "open_interest": np.maximum(np.round(oi), 0.0),
        "volume": np.where(traded, np.maximum(np.round(volume), 1.0), 0.0),
    }


def _occ_symbols(
    roots: np.ndarray, expiry: np.ndarray, is_call: np.ndarray, strike: np.ndarray
) -> np.ndarray:
    """OCC-style symbols: root padded to 6, YYMMDD, C/P, strike x 1000 in 8 digits."""
    padded = np.char.ljust(roots.astype(str), 6)
    unique = np.unique(expiry)
    days = np.array([from_seconds(float(s)).strftime("%y%m%d") for s in unique])
    day_text = days[np.searchsorted(unique, expiry)]
    kind = np.where(is_call, "C", "P")
    strikes = np.char.zfill(np.round(strike * 1000).astype(np.int64).astype(str), 8)
    return np.char.add(np.char.add(np.char.add(padded, day_text), kind), strikes)


def synthetic_market(
    underlyings: int,
    contracts_per: int = 2000,
    day: date = date(2024, 1, 2),
    seed: int = 0,
    max_expiries: int | None = None,
) -> Chain:
    """Many underlyings on one day: random prices and vol levels around the SPX-fitted surface.
    `max_expiries` keeps only the nearest expiries (a wide universe's listed months), so a
    few hundred contracts an underlying still have strikes close together."""
    rng = np.random.default_rng([seed, 1])
    spots = rng.uniform(20.0, 500.0, underlyings).round(2)
    levels = rng.uniform(0.12, 0.60, underlyings)
    surfaces = [SSVI().anchored(float(v)) for v in levels]
    symbols = [f"S{i:04d}" for i in range(underlyings)]
    grid = list_contracts(day, spots, surfaces, symbols, contracts_per, max_expiries=max_expiries)
    return price_contracts(grid, spots, surfaces, seed)


def synthetic_history(
    bars: Bars,
    symbol: str,
    start: date,
    end: date,
    seed: int = 0,
    vix: Bars | None = None,
    contracts_per: int = 2000,
    surface: SSVI = SSVI(),  # noqa: B008 - frozen, used as a constant
) -> Chain:
    """Daily chains over a real price path, the ATM level anchored to the VIX where it has a
    close that day (the SPX-fitted surface elsewhere). Bars are attached for indicators, and
    the VIX's earlier closes as the ATM IV history (what the surface is anchored to), so
    `iv_rank` and `iv_percentile` read a year from the first day."""
    days = [
        (d, c)
        for d, c in zip(bars.dates, bars.close, strict=True)
        if to_seconds(start) <= d <= to_seconds(end) and np.isfinite(c)
    ]
    chains = []
    listing = Listing()
    for seconds, close in days:
        day = from_seconds(float(seconds))
        level = surface
        if vix is not None:
            at = np.searchsorted(vix.dates, seconds)
            if at < len(vix.dates) and vix.dates[at] == seconds and np.isfinite(vix.close[at]):
                level = surface.anchored(float(vix.close[at]) / 100.0)
        chain = synthetic_chain(
            day, [close], [level], [symbol], seed, contracts_per, listings=[listing]
        )
        chains.append(chain.columns)
    if not chains:
        raise ValueError(f"no bars of {symbol} between {start} and {end}")
    columns = {name: np.concatenate([c[name] for c in chains]) for name in COLUMNS}
    chain = Chain(columns, {symbol: bars}, source=f"synthetic SSVI over {symbol} (seed {seed})")
    if vix is not None:  # the surface's ATM level before the span: IV rank from day one
        first = to_seconds(start)
        chain.iv_history[symbol] = Bars.from_closes(
            {float(d): float(c) / 100 for d, c in zip(vix.dates, vix.close, strict=True)
             if d < first and np.isfinite(c)}
        )  # fmt: skip
    return chain


EQUITY_LEVERAGE = 1.6  # an equity-like path moves 1.6x the index, its vol 1.6x the VIX
# Known tickers' leverage on the index and price at the start of the span's year, so a
# synthetic SPY trades near the S&P 500 / 10 and a synthetic AAPL swings more (approximate
# betas; every other ticker: EQUITY_LEVERAGE from $100). They all move with one factor.
EQUITIES: dict[str, tuple[float, float | None]] = {
    "SPY": (1.0, None),  # None: a tenth of the index
    "QQQ": (1.3, 160.0),
    "IWM": (1.2, 150.0),
    "DIA": (0.9, 250.0),
    "AAPL": (1.3, 170.0),
    "MSFT": (1.2, 85.0),
    "NVDA": (2.0, 200.0),
    "TSLA": (2.0, 300.0),
    "AMZN": (1.4, 1200.0),
    "MSTR": (2.2, 130.0),
}


def equity_like(index: Bars, start: date, price: float = 100.0, leverage: float = EQUITY_LEVERAGE,
                ) -> Bars:  # fmt: skip
    """A single stock's path made from an index's: the index's log returns times `leverage`,
    priced `price` at the first bar of `start`'s year (so a year of the S&P 500 becomes a
    year of a volatile ~$100 stock that gets assigned and called away, and any span inside
    that year sees the same prices)."""
    first = to_seconds(date(start.year, 1, 1))
    at = min(int(np.searchsorted(index.dates, first)), len(index.dates) - 1)

    def scale(series: np.ndarray) -> np.ndarray:  # a stock trades in cents
        return np.round(price * (series / index.close[at]) ** leverage, 2)

    return Bars(
        index.dates, scale(index.open), scale(index.high), scale(index.low),
        scale(index.close), index.volume,
    )  # fmt: skip


def scaled_vol(vix: Bars, factor: float = EQUITY_LEVERAGE) -> Bars:
    """A volatility index scaled to an equity-like path's vol (see `equity_like`)."""
    return Bars(vix.dates, vix.open * factor, vix.high * factor, vix.low * factor,
                vix.close * factor, vix.volume)  # fmt: skip


def equity_path(index: Bars, symbol: str, start: date) -> tuple[Bars, float]:
    """A ticker's synthetic path (see EQUITIES) and its leverage on the index."""
    leverage, price = EQUITIES.get(symbol, (EQUITY_LEVERAGE, 100.0))
    if price is None:
        first = to_seconds(date(start.year, 1, 1))
        at = min(int(np.searchsorted(index.dates, first)), len(index.dates) - 1)
        price = float(index.close[at]) / 10
    return equity_like(index, start, price, leverage), leverage
