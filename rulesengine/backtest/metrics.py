"""The numbers traders ask of a backtest, from a trade list and a daily equity curve.

Conventions (stated in every report): returns are daily, from the last net liquidation value of
each replayed day; Sharpe and Sortino are annualised with sqrt(252) and a zero risk-free rate;
Sortino's downside deviation is the root mean square of the negative daily returns over all
days; drawdown duration is calendar days from a peak until it is regained (or the end)."""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

TRADING_DAYS = 252
CONVENTIONS = (
    "Daily returns from each day's closing net liquidation; Sharpe and Sortino annualised with "
    "sqrt(252), risk-free rate 0; drawdown duration in calendar days; per-strategy curves are "
    "starting capital plus that strategy's realised P&L."
)


@dataclass(frozen=True)
class Trade:
    strategy: str
    opened: datetime
    closed: datetime
    pnl: float  # realised $, after fees
    structure: str = ""
    entry_reason: str = ""
    exit_reason: str = ""
    quantity: int = 0
    entry_price: float = float("nan")  # net credit per share at the fill (debit negative)
    entry_mid: float = float("nan")  # the structure's mid when the entry was decided
    exit_price: float = float("nan")  # net credit per share of the closing fill (settlement)
    exit_mid: float = float("nan")  # the mid when the exit was decided
    fees: float = 0.0

    @property
    def slippage(self) -> float:
        """$ given up against the mids at entry and exit (positive: worse than mid)."""
        parts = [(self.entry_mid - self.entry_price), (self.exit_mid - self.exit_price)]
        finite = [x for x in parts if x == x]
        return sum(finite) * 100 * self.quantity if finite else float("nan")

    @property
    def days_held(self) -> float:
        return (self.closed - self.opened).total_seconds() / 86_400


@dataclass(frozen=True)
class Metrics:
    trades: int
    total_pnl: float
    total_return: float
    annualised_return: float
    win_rate: float
    average_win: float
    average_loss: float
    profit_factor: float
    expectancy: float
    sharpe: float
    sortino: float
    max_drawdown: float
    max_drawdown_days: int
    average_days_held: float
    exposure: float

    def as_dict(self) -> dict[str, float]:
        return dict(self.__dict__)


def trade_stats(trades: Sequence[Trade]) -> dict[str, float]:
    pnls = [t.pnl for t in trades]
    wins = [p for p in pnls if p > 0]
    losses = [p for p in pnls if p <= 0]
    gross_loss = -sum(losses)
    nan = float("nan")
    return {
        "trades": len(pnls),
        "total_pnl": sum(pnls),
        "win_rate": len(wins) / len(pnls) if pnls else nan,
        "average_win": sum(wins) / len(wins) if wins else nan,
        "average_loss": sum(losses) / len(losses) if losses else nan,
        "profit_factor": (sum(wins) / gross_loss if gross_loss > 0 else math.inf) if pnls else nan,
        "expectancy": sum(pnls) / len(pnls) if pnls else nan,
        "average_days_held": sum(t.days_held for t in trades) / len(trades) if trades else nan,
    }


def daily_returns(equity: Sequence[float]) -> list[float]:
    return [b / a - 1.0 for a, b in itertools.pairwise(equity) if a > 0]


def sharpe(returns: Sequence[float]) -> float:
    if len(returns) < 2:
        return float("nan")
    mean = sum(returns) / len(returns)
    var = sum((r - mean) ** 2 for r in returns) / (len(returns) - 1)
    return mean / math.sqrt(var) * math.sqrt(TRADING_DAYS) if var > 0 else float("nan")


def sortino(returns: Sequence[float]) -> float:
    if len(returns) < 2:
        return float("nan")
    mean = sum(returns) / len(returns)
    downside = math.sqrt(sum(min(r, 0.0) ** 2 for r in returns) / len(returns))
    if downside == 0:
        return math.inf if mean > 0 else float("nan")
    return mean / downside * math.sqrt(TRADING_DAYS)


def drawdowns(equity: Sequence[float]) -> list[float]:
    """Fraction below the running peak, day by day."""
    peak, out = -math.inf, []
    for value in equity:
        peak = max(peak, value)
        out.append((peak - value) / peak if peak > 0 else 0.0)
    return out


def max_drawdown(days: Sequence[date], equity: Sequence[float]) -> tuple[float, int]:
    """(deepest drawdown, longest calendar days spent below a peak)."""
    if not equity:
        return 0.0, 0
    deepest = max(drawdowns(equity))
    longest, peak, peak_day = 0, equity[0], days[0]
    for day, value in zip(days, equity, strict=True):
        if value >= peak:
            peak, peak_day = value, day
        else:
            longest = max(longest, (day - peak_day).days)
    return deepest, longest


def exposure(
    days: Sequence[date], trades: Sequence[Trade], open_since: Sequence[datetime]
) -> float:
    """Share of replayed days with a position on: closed trades and those still open."""
    if not days:
        return float("nan")
    spans = [(t.opened.date(), t.closed.date()) for t in trades]
    spans += [(opened.date(), days[-1]) for opened in open_since]
    held = sum(1 for day in days if any(a <= day <= b for a, b in spans))
    return held / len(days)


def annualised(total_return: float, days: Sequence[date]) -> float:
    if len(days) < 2 or total_return <= -1:
        return float("nan")
    years = max((days[-1] - days[0]).days, 1) / 365.25
    return (1.0 + total_return) ** (1.0 / years) - 1.0


def compute(
    trades: Sequence[Trade],
    days: Sequence[date],
    equity: Sequence[float],
    open_since: Sequence[datetime] = (),
    starting: float | None = None,
) -> Metrics:
    """Every metric over one equity curve (each day's close) and the trades closed along it.
    `starting` is the capital before the first day's trading: returns and drawdowns are
    measured from it, so the first day's fills and fees count like any other day's."""
    stats = trade_stats(trades)
    curve, curve_days = list(equity), list(days)
    if starting is not None and curve and math.isfinite(starting):
        curve, curve_days = [starting, *curve], [curve_days[0], *curve_days]
    total = curve[-1] / curve[0] - 1.0 if curve and curve[0] > 0 else float("nan")
    returns = daily_returns(curve)
    deepest, longest = max_drawdown(curve_days, curve)
    # the account's change: closed trades and what is still open at its marks
    total_pnl = curve[-1] - curve[0] if curve else stats["total_pnl"]
    return Metrics(
        trades=int(stats["trades"]),
        total_pnl=total_pnl,
        total_return=total,
        annualised_return=annualised(total, days),
        win_rate=stats["win_rate"],
        average_win=stats["average_win"],
        average_loss=stats["average_loss"],
        profit_factor=stats["profit_factor"],
        expectancy=stats["expectancy"],
        sharpe=sharpe(returns),
        sortino=sortino(returns),
        max_drawdown=deepest,
        max_drawdown_days=longest,
        average_days_held=stats["average_days_held"],
        exposure=exposure(days, trades, open_since),
    )


def strategy_equity(trades: Sequence[Trade], days: Sequence[date], starting: float) -> list[float]:
    """A strategy's own curve: starting capital plus its realised P&L by close date."""
    out, total, ordered, i = [], starting, sorted(trades, key=lambda t: t.closed), 0
    for day in days:
        while i < len(ordered) and ordered[i].closed.date() <= day:
            total += ordered[i].pnl
            i += 1
        out.append(total)
    return out
