"""The one registry of every name a rule may use: fields by scope, enums and functions.

`rules names` prints it; docs/names.md is generated from it. A field's `domain` is the range its
values can take: the checker uses it to flag clauses that are always true or can never hold.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

from rulesengine.check.types import (
    BOOL,
    DATE,
    DURATION,
    MONEY,
    NUMBER,
    PERCENT,
    STRING,
    TIME,
    Type,
    enum,
)


class Scope(StrEnum):
    CONTRACT = "contract"  # one row of an option chain (inside a leg's `where`)
    UNDERLYING = "underlying"  # the underlying of the chain
    STRUCTURE = "structure"  # one candidate structure built from the legs
    POSITION = "position"  # an open position (exit rules)
    PORTFOLIO = "portfolio"  # the account and the market (size, limits, breakers)


@dataclass(frozen=True)
class Field:
    name: str
    scope: Scope
    type: Type
    unit: str
    doc: str
    domain: tuple[float, float] = (-math.inf, math.inf)


ENUMS: dict[str, tuple[str, ...]] = {
    "option_type": ("put", "call", "future"),
    "style": ("european", "american"),
    "settlement": ("am", "pm"),
    "weekday": ("mon", "tue", "wed", "thu", "fri", "sat", "sun"),
    "expiry_cycle": ("monthly", "weekly", "daily"),  # as rulesengine.data.expiries.CYCLES
}

INF = math.inf
C, U, S, P, F = Scope.CONTRACT, Scope.UNDERLYING, Scope.STRUCTURE, Scope.POSITION, Scope.PORTFOLIO

FIELDS: tuple[Field, ...] = (
    # ---------------------------------------------------------------- contract
    Field("symbol", C, STRING, "", "OCC option symbol, e.g. 'SPXW  110107P01250000'"),
    Field("root", C, STRING, "", "option root: SPX (AM-settled monthly), SPXW, SPXPM ..."),
    Field("underlying_symbol", C, STRING, "", "ticker of the underlying, e.g. SPX"),
    Field("type", C, enum("option_type"), "", "put, call, or future (a futures contract's row)"),
    Field("style", C, enum("style"), "", "european or american exercise"),
    Field("settlement", C, enum("settlement"), "", "am (settles on the open) or pm (on the close)"),
    Field("strike", C, MONEY, "$", "strike price", (0, INF)),
    Field(
        "expiry", C, DATE, "", "expiration date (the Friday, even where the symbol says Saturday)"
    ),
    Field("dte", C, NUMBER, "days", "calendar days from the quote date to expiry", (0, INF)),
    Field(
        "trading_dte",
        C,
        NUMBER,
        "days",
        "NYSE sessions after the quote date through expiry (holidays do not count)",
        (0, INF),
    ),
    Field(
        "expiry_cycle",
        C,
        enum("expiry_cycle"),
        "",
        "monthly (third Friday, standard root), weekly (other Fridays) or daily",
    ),
    Field("is_monthly", C, BOOL, "", "expiry_cycle == monthly"),
    Field("expiry_week_of_month", C, NUMBER, "", "1 for days 1-7 of the month ... 5", (1, 5)),
    Field("bid", C, MONEY, "$/share", "best bid", (0, INF)),
    Field("ask", C, MONEY, "$/share", "best ask", (0, INF)),
    Field("mid", C, MONEY, "$/share", "(bid + ask) / 2", (0, INF)),
    Field("last", C, MONEY, "$/share", "last trade price (mid where the feed has none)", (0, INF)),
    Field("spread", C, MONEY, "$/share", "ask - bid", (0, INF)),
    Field("volume", C, NUMBER, "contracts", "contracts traded today", (0, INF)),
    Field("open_interest", C, NUMBER, "contracts", "open interest", (0, INF)),
    Field(
        "iv",
        C,
        PERCENT,
        "",
        "implied volatility (a fraction: 20% is 0.20); NaN when unknown",
        (0, INF),
    ),
    Field("delta", C, NUMBER, "per $1", "delta per share (puts negative)", (-1, 1)),
    Field("gamma", C, NUMBER, "per $1", "gamma per share", (0, INF)),
    Field("theta", C, MONEY, "$/day", "theta per share per calendar day"),
    Field("vega", C, MONEY, "$/vol pt", "vega per share per 1 point of volatility", (0, INF)),
    Field("rho", C, MONEY, "$/rate pt", "rho per share per 1 point of rate"),
    Field("quote_age", C, DURATION, "s", "age of the quote at evaluation time", (0, INF)),
    Field("moneyness", C, PERCENT, "", "strike / underlying price - 1 (negative below the price)"),
    Field("distance", C, MONEY, "$", "strike - underlying price"),
    Field("itm", C, BOOL, "", "in the money"),
    Field("otm", C, BOOL, "", "out of the money"),
    Field("intrinsic", C, MONEY, "$/share", "intrinsic value", (0, INF)),
    Field("extrinsic", C, MONEY, "$/share", "mid - intrinsic"),
    Field("interpolated", C, BOOL, "", "the data vendor interpolated this row's IV and greeks"),
    Field("multiplier", C, NUMBER, "shares", "shares per contract (100)", (0, INF)),
    Field("model_iv", C, PERCENT, "", "IV solved from the mid (BAW for American style)", (0, INF)),
    Field("model_delta", C, NUMBER, "per $1", "delta at model_iv", (-1, 1)),
    Field("model_gamma", C, NUMBER, "per $1", "gamma at model_iv", (0, INF)),
    Field("model_theta", C, MONEY, "$/day", "theta per calendar day at model_iv"),
    Field("model_vega", C, MONEY, "$/vol pt", "vega per vol point at model_iv", (0, INF)),
    Field(
        "prob_touch",
        C,
        PERCENT,
        "",
        "probability the price touches the strike before expiry (contract IV)",
        (0, 1),
    ),
    # ---------------------------------------------------------------- underlying
    Field("price", U, MONEY, "$", "underlying price", (0, INF)),
    Field(
        "close",
        U,
        MONEY,
        "$",
        "last complete bar's close: daily (an end-of-day snapshot's own session), or of the "
        "file's `bars:` timeframe; a series inside indicators",
        (0, INF),
    ),
    Field("open", U, MONEY, "$", "last bar's open (as `close`)", (0, INF)),
    Field(
        "shares_held",
        U,
        NUMBER,
        "shares",
        "shares of the underlying the strategy's holdings group owns from assignments "
        "(negative: short)",
    ),
    Field(
        "uncovered_shares",
        U,
        NUMBER,
        "shares",
        "shares_held less 100 per call the group has sold or is selling on the underlying",
        (0, INF),
    ),
    Field(
        "avg_cost",
        U,
        MONEY,
        "$/share",
        "strike paid per held share, averaged over the lots (NaN: none held)",
        (0, INF),
    ),
    Field("assigned_at", U, DATE, "", "the day the oldest held lot was delivered"),
    Field("high", U, MONEY, "$", "last bar's high (as `close`)", (0, INF)),
    Field("low", U, MONEY, "$", "last bar's low (as `close`)", (0, INF)),
    Field("underlying_volume", U, NUMBER, "shares", "last bar's volume (as `close`)", (0, INF)),
    Field(
        "forward",
        U,
        MONEY,
        "$",
        "forward price of the nearest expiry (vendor's where given)",
        (0, INF),
    ),
    Field("atm_iv", U, PERCENT, "", "at-the-money IV of the expiry nearest 30 days", (0, INF)),
    Field(
        "expected_move", U, MONEY, "$", "ATM straddle price of the expiry nearest 30 days", (0, INF)
    ),
    Field(
        "iv_rank", U, PERCENT, "", "IV rank over the last 252 sessions (needs IV history)", (0, 1)
    ),
    Field(
        "iv_percentile",
        U,
        PERCENT,
        "",
        "IV percentile over 252 sessions (needs IV history)",
        (0, 1),
    ),
    Field("change_pct", U, PERCENT, "", "change since the previous close"),
    # ---------------------------------------------------------------- structure
    Field("credit", S, MONEY, "$/share", "net credit at mid (negative for a debit)"),
    Field("debit", S, MONEY, "$/share", "net debit at mid (negative for a credit)"),
    Field(
        "natural_credit", S, MONEY, "$/share", "net credit selling at the bid, buying at the ask"
    ),
    Field("natural_debit", S, MONEY, "$/share", "net debit at the natural prices"),
    Field(
        "width", S, MONEY, "$", "distance between the widest strikes of same-type legs", (0, INF)
    ),
    Field(
        "max_profit",
        S,
        MONEY,
        "$/structure",
        "most the structure can make at expiry (x multiplier)",
    ),
    Field("max_loss", S, MONEY, "$/structure", "most it can lose at expiry, as a positive amount"),
    Field("lower_breakeven", S, MONEY, "$", "lowest underlying price at expiry where P&L is 0"),
    Field("upper_breakeven", S, MONEY, "$", "highest underlying price at expiry where P&L is 0"),
    Field("pop", S, PERCENT, "", "probability of profit at expiry (lognormal, legs' IV)", (0, 1)),
    Field("risk_reward", S, NUMBER, "", "max_loss / max_profit", (0, INF)),
    Field("return_on_risk", S, PERCENT, "", "max_profit / max_loss"),
    Field("net_delta", S, NUMBER, "per share", "sum of signed leg deltas"),
    Field("net_gamma", S, NUMBER, "per share", "sum of signed leg gammas"),
    Field("net_theta", S, MONEY, "$/day/share", "sum of signed leg thetas"),
    Field("net_vega", S, MONEY, "$/vol pt/share", "sum of signed leg vegas"),
    Field("min_dte", S, NUMBER, "days", "days to the nearest leg's expiry", (0, INF)),
    Field("slippage", S, MONEY, "$/share", "credit at mid - credit at natural", (0, INF)),
    # ---------------------------------------------------------------- position
    Field("pnl", P, MONEY, "$/position", "unrealised P&L of the position"),
    Field("pnl_pct", P, PERCENT, "", "pnl / max_profit for credits, pnl / debit for debits"),
    Field("entry_credit", P, MONEY, "$/position", "credit received at entry (x multiplier x qty)"),
    Field("entry_debit", P, MONEY, "$/position", "debit paid at entry (x multiplier x qty)"),
    Field("mark", P, MONEY, "$/position", "current value to close at mid"),
    Field("days_held", P, NUMBER, "days", "calendar days since entry", (0, INF)),
    Field("high_water_pnl", P, MONEY, "$/position", "highest pnl since entry (for trailing stops)"),
    Field("quantity", P, NUMBER, "structures", "number of structures held", (0, INF)),
    Field("short_strike_breached", P, BOOL, "", "the underlying is through a short strike"),
    Field("rolls", P, NUMBER, "", "how many times this position was rolled", (0, INF)),
    Field("entry_underlying_price", P, MONEY, "$", "the underlying's price when entered", (0, INF)),
    Field("entry_iv", P, PERCENT, "", "the sold legs' mean implied volatility at entry", (0, 5)),
    Field("position_delta", P, NUMBER, "shares", "the position's delta now (x 100 x qty)"),
    Field("position_vega", P, MONEY, "$/vol pt", "the position's vega now (x 100 x qty)"),
    Field(
        "marked_by_model",
        P,
        BOOL,
        "",
        "a leg has no usable quote and is valued from the model (closing still needs a quote)",
    ),
    # ---------------------------------------------------------------- portfolio & market
    Field("net_liq", F, MONEY, "$", "net liquidating value of the account", (0, INF)),
    Field("buying_power", F, MONEY, "$", "buying power", (0, INF)),
    Field("options_buying_power", F, MONEY, "$", "options buying power", (0, INF)),
    Field("day_pnl", F, MONEY, "$", "realised + unrealised P&L today (strategy file: its own)"),
    Field("week_pnl", F, MONEY, "$", "P&L this week (strategy file: its own)"),
    Field(
        "losing_streak",
        F,
        NUMBER,
        "trades",
        "consecutive losing closed trades (strategy file: its own)",
        (0, INF),
    ),
    Field(
        "winning_streak",
        F,
        NUMBER,
        "trades",
        "consecutive winning closed trades (strategy file: its own)",
        (0, INF),
    ),
    Field("drawdown", F, PERCENT, "", "drop from the account's high-water mark", (0, 1)),
    Field(
        "open_positions",
        F,
        NUMBER,
        "positions",
        "open positions (strategy file: its own)",
        (0, INF),
    ),
    Field(
        "heat", F, PERCENT, "", "committed max losses / net_liq (strategy file: its own)", (0, INF)
    ),
    Field(
        "portfolio_delta",
        F,
        NUMBER,
        "shares",
        "net delta, share-equivalent (strategy file: its own)",
    ),
    Field(
        "portfolio_vega", F, MONEY, "$/vol pt", "net vega of the positions (strategy file: its own)"
    ),
    Field("broker_errors", F, NUMBER, "", "consecutive broker errors", (0, INF)),
    Field("rate_limited", F, NUMBER, "", "rate-limit answers from the broker lately", (0, INF)),
    Field("data_age", F, DURATION, "s", "age of the newest market data at evaluation", (0, INF)),
    Field("vix", F, NUMBER, "points", "CBOE VIX index", (0, INF)),
    Field("minutes_to_close", F, NUMBER, "minutes", "minutes until the session closes", (0, INF)),
    Field("time", F, TIME, "", "exchange time of day (America/New_York)"),
    Field("today", F, DATE, "", "the session date"),
    Field("weekday", F, enum("weekday"), "", "day of the week"),
)

FIELDS_BY_NAME: dict[str, Field] = {f.name: f for f in FIELDS}

# Names of positions share a few contract/structure names (dte, max_profit, max_loss, delta...).
POSITION_ALIASES: dict[str, Field] = {
    "dte": Field("dte", P, NUMBER, "days", "days to the position's nearest expiry", (0, INF)),
    "max_profit": Field("max_profit", P, MONEY, "$/position", "max profit of the position"),
    "max_loss": Field("max_loss", P, MONEY, "$/position", "max loss of the position"),
    "credit": Field("credit", P, MONEY, "$/share", "current credit to close (negative)"),
    "net_delta": Field("net_delta", P, NUMBER, "per share", "the position's net delta"),
    "pop": Field("pop", P, PERCENT, "", "current probability of profit", (0, 1)),
}

SERIES = ("close", "open", "high", "low", "underlying_volume")


@dataclass(frozen=True)
class Function:
    name: str
    # 'x' numeric, 'n' whole-number constant, 'k' constant, 'series' a bar series or indicator,
    # 'level' a series or a constant (crosses_above(rsi(14), 30))
    params: tuple[str, ...]
    result: str  # 'same' (as first numeric argument), 'number', 'money', 'percent', 'bool'
    doc: str
    scope: Scope | None = None  # where the function's data lives (None: pure arithmetic)
    variadic: bool = False
    daily: bool = False  # reads once-a-session data (ATM IV history): no timeframe argument
    annualised: bool = False  # scaled by the timeframe's bars a year: time bars only

    @property
    def reads_bars(self) -> bool:
        """An indicator over bars: takes an optional timeframe as its last argument."""
        return self.scope is Scope.UNDERLYING


FUNCTIONS: dict[str, Function] = {
    f.name: f
    for f in (
        Function("abs", ("x",), "same", "absolute value"),
        Function("min", ("x", "x"), "same", "smallest argument", variadic=True),
        Function("max", ("x", "x"), "same", "largest argument", variadic=True),
        Function("round", ("x",), "same", "round to the nearest whole number"),
        Function("floor", ("x",), "same", "round down"),
        Function("ceil", ("x",), "same", "round up"),
        Function("sqrt", ("x",), "number", "square root"),
        Function("log", ("x",), "number", "natural logarithm"),
        Function("sma", ("series", "n"), "same", "simple moving average of n bars", U),
        Function("ema", ("series", "n"), "same", "exponential moving average of n bars", U),
        Function("rma", ("series", "n"), "same", "Wilder's moving average of n bars", U),
        Function("highest", ("series", "n"), "same", "highest value of the last n bars", U),
        Function("lowest", ("series", "n"), "same", "lowest value of the last n bars", U),
        Function("stddev", ("series", "n"), "same", "population std deviation over n bars", U),
        Function(
            "zscore", ("series", "n"), "number", "(x - sma(x, n)) / stddev(x, n): how unusual", U
        ),
        Function(
            "change_pct", ("series", "n"), "percent", "change over the last n bars, as a %", U
        ),
        Function("prev", ("series", "n"), "same", "the value n bars ago (prev(close, 1))", U),
        Function(
            "crosses_above",
            ("level", "level"),
            "bool",
            "true on the bar where the first series moves above the second (an event)",
            U,
        ),
        Function(
            "crosses_below",
            ("level", "level"),
            "bool",
            "true on the bar where the first series moves below the second (an event)",
            U,
        ),
        Function(
            "macd", ("series", "n", "n", "n"), "same", "MACD line (fast, slow, signal EMAs)", U
        ),
        Function(
            "macd_signal", ("series", "n", "n", "n"), "same", "MACD signal line (EMA of MACD)", U
        ),
        Function("macd_hist", ("series", "n", "n", "n"), "same", "MACD line - signal line", U),
        Function("bb_upper", ("series", "n", "k"), "same", "upper Bollinger band (k std devs)", U),
        Function("bb_middle", ("series", "n", "k"), "same", "middle Bollinger band (the SMA)", U),
        Function("bb_lower", ("series", "n", "k"), "same", "lower Bollinger band (k std devs)", U),
        Function("rsi", ("n",), "number", "Wilder's RSI of the close over n bars (0-100)", U),
        Function(
            "hv",
            ("n",),
            "percent",
            "annualised close-to-close volatility over n bars",
            U,
            annualised=True,
        ),
        Function(
            "hv_parkinson",
            ("n",),
            "percent",
            "annualised high-low (Parkinson) volatility over n bars",
            U,
            annualised=True,
        ),
        Function(
            "atr_distance",
            ("n",),
            "number",
            "ATRs the close is above (below: negative) its n-bar SMA",
            U,
        ),
        Function(
            "supertrend_dir",
            ("n", "k"),
            "number",
            "Supertrend direction: 1 in an uptrend, -1 in a downtrend",
            U,
        ),
        Function(
            "aligned",
            ("n", "n", "n"),
            "bool",
            "the three SMAs stacked shortest above, e.g. aligned(20, 50, 200): an uptrend",
            U,
        ),
        Function(
            "cci", ("n",), "number", "commodity channel index over n bars (needs high/low)", U
        ),
        Function(
            "iv_rank", ("n",), "percent", "IV rank over n sessions of ATM IV history", U, daily=True
        ),
        Function(
            "iv_percentile",
            ("n",),
            "percent",
            "IV percentile over n sessions of ATM IV history",
            U,
            daily=True,
        ),
        Function(
            "atr", ("n",), "money", "Wilder's average true range over n bars (needs high/low)", U
        ),
        Function(
            "supertrend",
            ("n", "k"),
            "money",
            "Supertrend line, ATR n x k: below the close in an uptrend (needs high/low)",
            U,
        ),
    )
}

# Session windows a schedule may name after `during`.
WINDOWS = ("regular_hours", "extended_hours", "opening_hour", "closing_hour", "all_day")
BREAKER_ACTIONS = ("halt", "block_entries", "reduce_only", "close_all", "alert")
LEG_KINDS = {
    "put": "put",
    "puts": "put",
    "call": "call",
    "calls": "call",
    "stock": "stock",
    "shares": "stock",
    "share": "stock",
    "future": "future",
    "futures": "future",
}
# Shares per count of a stock leg: `buy stock` is a round lot (the covered call's 100),
# `buy 50 shares` is 50 shares.
STOCK_LOTS = {"stock": 100, "shares": 1, "share": 1}
