"""The rule file's structure as one pydantic model; `rules schema` exports its JSON Schema."""

from __future__ import annotations

from typing import Annotated, Literal, get_args

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, NonNegativeInt, PositiveInt


def _as_text(value: object) -> object:
    """YAML reads `rank: 1` as an int and `entry: [true]` as a bool; the DSL wants text."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return value


Expr = Annotated[
    str,
    BeforeValidator(_as_text),
    Field(description="an expression of the rules DSL, e.g. `delta between -0.30 and -0.20`"),
]
Identifier = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]
Percent = Annotated[
    str,
    BeforeValidator(_as_text),
    Field(pattern=r"^\s*\d+(\.\d+)?\s*%\s*$", description="a percentage, e.g. `80%`"),
]


def percent_share(text: str) -> float:
    """`80%` -> 0.8 (the text has passed the Percent pattern)."""
    return float(text.strip().rstrip("%")) / 100


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ScheduleSection(Strict):
    scan: Expr | None = Field(
        None, description="when to look for entries, e.g. `every 5m during regular_hours`"
    )
    monitor: Expr | None = Field(
        None, description="when to evaluate exits, e.g. `every 1m during regular_hours`"
    )


class SizeSection(Strict):
    risk: Expr | None = Field(None, description="money at risk per trade, e.g. `1% of net_liq`")
    contracts: PositiveInt | None = Field(
        None, description="a fixed number of structures per trade"
    )
    max_contracts: PositiveInt | None = Field(None, description="cap on structures per trade")
    max_buying_power: Expr | None = Field(
        None, description="cap on buying power per trade, e.g. `5%`"
    )
    kelly: Expr | None = Field(
        None,
        description="fraction of the Kelly bet from this strategy's closed trades, e.g. `25%`",
    )
    kelly_min_trades: PositiveInt | None = Field(
        None, description="closed trades needed before Kelly sizing applies (default 30)"
    )
    daily_target: Expr | None = Field(
        None,
        description="day P&L target: size shrinks past half of it and stops at it, e.g. `$1000`",
    )
    near_target: dict[Percent, Percent] | None = Field(
        None,
        description="size multipliers once day P&L passes shares of daily_target, instead of "
        "the linear shrink, e.g. {80%: 50%, 90%: 25%}",
    )


RollFallback = Literal["close_if_profitable", "close", "alert"]
DEFAULT_ROLL_FALLBACK: tuple[RollFallback, ...] = ("close_if_profitable", "alert")


class RollSection(Strict):
    when: Expr = Field(description="when to roll an open position, e.g. `dte <= 5`")
    legs: list[Identifier] = Field(
        default_factory=list,
        description="the legs that move (default: all), e.g. [short_put, long_put]",
    )
    to: Expr | None = Field(
        None,
        description="the moved sold leg's new contract, e.g. `delta nearest 50% of short.delta`",
    )
    expiry: Literal["same", "later"] = Field(
        "later", description="the moved legs' expiry: the same one or the next later one"
    )
    credit_only: bool = Field(False, description="roll only when the roll nets a credit")
    fallback: list[RollFallback] = Field(
        default_factory=lambda: list(DEFAULT_ROLL_FALLBACK),
        description="what to do, in order, when no roll target passes",
    )


class PaperSection(Strict):
    cash: float = Field(100_000.0, gt=0, description="the paper account's starting cash")
    option_level: int = Field(
        3, ge=1, le=4, description="1 covered/cash-secured, 2 + long options, 3 + spreads, 4 naked"
    )
    margin: Literal["cash", "margin"] = Field("cash", description="account type")


class LimitsSection(Strict):
    max_positions: PositiveInt | None = Field(
        None, description="open positions (the strategy's, or the account's)"
    )
    max_per_symbol: PositiveInt | None = Field(None, description="open positions per underlying")
    max_per_expiry: PositiveInt | None = Field(None, description="open positions per expiry")
    max_per_sector: PositiveInt | None = Field(
        None, description="open positions per sector (see `sectors`)"
    )
    max_new_per_day: PositiveInt | None = Field(None, description="entries per session")
    reentry_cooldown: Expr | None = Field(
        None,
        description="(strategy files) after a position closes at a loss, no new entry for "
        "this long, e.g. `1d`",
    )
    max_entries_per_scan: PositiveInt | None = Field(
        None,
        description="(strategy files) entries one scan may make, best ranked first, each "
        "passing sizing and limits with the earlier ones counted (default 1)",
    )
    max_buying_power: Expr | None = Field(
        None, description="share of buying power in use, e.g. `50%`"
    )
    max_allocation: Expr | None = Field(
        None,
        description="share of net_liq the positions may commit (their buying-power "
        "requirement), e.g. `40%`: a strategy's capital allocation",
    )
    max_heat: Expr | None = Field(None, description="sum of max losses / net_liq, e.g. `25%`")
    max_portfolio_delta: Expr | None = Field(
        None, description="absolute net delta (the strategy's, or the account's)"
    )
    max_portfolio_vega: Expr | None = Field(
        None, description="absolute net vega (the strategy's, or the account's)"
    )


NotifyEvent = Literal[
    "entry",
    "fill",
    "exit",
    "closed",
    "roll",
    "assignment",
    "breaker",
    "reload",
    "broker_error",
    "reconcile",
    "warning",
    "report",
]
Severity = Literal["info", "warning", "critical"]


class NotifyChannel(Strict):
    url: str = Field(
        description="an apprise URL (json://, discord://, slack://, tgram://, mailto://...); "
        "secrets as `${ENV_VAR}`, read from the environment when the engine starts",
    )
    events: list[str] | str = Field(
        "all",
        description="the events this channel receives, or `all`: "
        + ", ".join(get_args(NotifyEvent)),
    )
    severity: Severity = Field("info", description="only events at or above this severity")


def _as_clock(value: object) -> object:
    """YAML 1.1 reads an unquoted `16:30` as the base-60 integer 990: read it back as a time."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 24 * 60:
        return f"{value // 60:02d}:{value % 60:02d}"
    return value


ClockText = Annotated[str, BeforeValidator(_as_clock)]


class ReportsSection(Strict):
    daily: ClockText | None = Field(
        None,
        description="the daily report after each session, New York time, e.g. `16:30`",
    )
    review: ClockText | None = Field(
        None,
        description="the weekly post-trade review: a weekday and a time, e.g. `friday 17:00`",
    )


def _off(value: object) -> object:
    """YAML reads a bare `off` as false: `walk: off` means what it says."""
    return "off" if value is False else value


class WalkSection(Strict):
    every: str = Field("30s", description="how often a working order is repriced, e.g. `30s`")
    ticks: NonNegativeInt = Field(1, description="ticks toward natural per step (0: no walk)")
    stop: str = Field(
        "natural",
        description="the walk's slippage limit: `natural`, `50% toward natural`, "
        "`$0.10 from mid` or any limit price",
    )


class OrderSection(Strict):
    tif: Literal["day", "gtc", "ioc"] | None = Field(
        None,
        description="time in force of the strategy's orders (default day; ioc: what does not "
        "fill at once is cancelled)",
    )
    price: str | None = Field(
        None,
        description="the first limit of entries (and exits, without exit_price): `mid` "
        "(default), `natural`, `95% of bid`, `mid - 25% of spread`, `25% toward natural`",
    )
    exit_price: str | None = Field(None, description="the first limit of exits (as `price`)")
    walk: Annotated[WalkSection | Literal["off"] | None, BeforeValidator(_off)] = Field(
        None,
        description="repricing toward natural while working: `{every: 30s, ticks: 1, stop: "
        "natural}` (the default) or `off`",
    )
    min_fill: str | None = Field(
        None,
        description="an entry that ends with less filled than this share is unwound, e.g. "
        "`50%`",
    )
    type: Literal["limit", "market"] | None = Field(
        None,
        description="`market` sends the orders of share and futures strategies as market "
        "orders (options always go as limits; default limit)",
    )
    protective_stop: str | None = Field(
        None,
        description="(share and futures strategies) a resting stop order placed once an entry "
        "fills, closing the position `$150` against it even while the engine is down",
    )
    retries: NonNegativeInt | None = Field(
        None, description="times a rejected order is sent again (default 0)"
    )
    retry_after: str | None = Field(
        None, description="wait before the first retry, doubling after each, e.g. `30s`"
    )
    timeout: str | None = Field(
        None,
        description="cancel an order still working after this long, e.g. `10m` (an exit "
        "then fires again at the next monitor, at the new mid)",
    )
    max_working: PositiveInt | None = Field(
        None, description="entry orders the strategy may have working at once"
    )


class HedgeSection(Strict):
    delta: str = Field(
        description="the band each position's delta (shares, hedges included) is kept in, "
        "e.g. `between -10 and 10`"
    )
    to: float | None = Field(
        None,
        description="the delta a hedge brings the position back to (default: the band's "
        "middle)",
    )
    using: str = Field(
        "underlying",
        description="what hedges: `underlying` (its shares) or a futures root, e.g. `/MES` "
        "(its front month)",
    )
    every: str | None = Field(
        None, description="how often the band is checked, e.g. `15m` (default: every monitor)"
    )


class HoldingsSection(Strict):
    strategies: list[Identifier] = Field(
        default_factory=list,
        description="strategies whose assigned shares this one also reads, covers and "
        "delivers (the wheel's covered-call step names its put step)",
    )
    on_assignment: Literal["scan"] | None = Field(
        None,
        description="`scan`: run this strategy's scan in the tick that books an assignment "
        "to its holdings group, whatever its schedule",
    )


class RuleFile(Strict):
    """A strategy (`strategy:` with legs) or a portfolio risk file (`portfolio:`)."""

    strategy: Identifier | None = Field(None, description="the strategy's name")
    portfolio: Identifier | None = Field(None, description="name of a portfolio-wide risk file")
    description: str | None = Field(None, description="one line saying what the rules do")
    universe: list[str] | str = Field(
        default_factory=list,
        description="underlyings: a list ([SPX]), `all` (every underlying in the data), or "
        "`file:sp500.txt` (a list file beside the rule file)",
    )
    schedule: ScheduleSection | None = None
    bars: str | None = Field(
        None,
        description="timeframe of indicators that name none, e.g. `5m` (default `1d`); "
        "`ema(close, 9, 1h)` names its own",
    )
    let: dict[Identifier, Expr] = Field(default_factory=dict, description="named expressions")
    underlying: list[Expr] = Field(default_factory=list, description="conditions on the underlying")
    expiry: Expr | None = Field(
        None,
        description="choose one expiry per underlying before the legs' strikes, e.g. "
        "`where is_monthly prefer dte nearest 45`",
    )
    legs: dict[Identifier, Expr] = Field(
        default_factory=dict, description="legs in order, e.g. `short: put where ... prefer ...`"
    )
    entry: list[Expr] = Field(default_factory=list, description="conditions on each structure")
    rank: Expr | None = Field(None, description="score to sort candidates, highest first")
    size: SizeSection | None = None
    exit: dict[Identifier, Expr] = Field(default_factory=dict, description="named exit conditions")
    roll: RollSection | None = None
    limits: LimitsSection | None = None
    breakers: dict[Identifier, Expr] = Field(
        default_factory=dict, description="`condition -> action [for duration]`"
    )
    paper: PaperSection | None = Field(
        None, description="(portfolio files) the paper account: cash, option_level, margin"
    )
    sectors: dict[Identifier, list[str]] = Field(
        default_factory=dict, description="sector name -> underlyings, for `max_per_sector`"
    )
    order: OrderSection | None = Field(
        None,
        description="execution policy: tif, timeout, max_working (a portfolio file's are "
        "the defaults of every strategy)",
    )
    hedge: HedgeSection | None = Field(
        None,
        description="keep each position's delta in a band with shares of the underlying "
        "(gamma scalping); the hedges are part of the position",
    )
    holdings: HoldingsSection | None = Field(
        None,
        description="shares delivered by assignment: whose this strategy reads "
        "(`shares_held`, `avg_cost`...) and whether an assignment triggers its scan",
    )
    reports: ReportsSection | None = Field(
        None, description="(portfolio files) when the daily report and the weekly review run"
    )
    notify: dict[Identifier, NotifyChannel] = Field(
        default_factory=dict,
        description="(portfolio files) notification channels: name -> url, events, severity",
    )


def json_schema() -> dict:
    schema = RuleFile.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "rulesengine rule file"
    return schema
