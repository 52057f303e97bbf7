"""The scalars rules read (net_liq, day_pnl, drawdown, streaks, heat, greeks, VIX, time of
day...), from the broker's account, the position book, the journal and the market snapshot.

Two scopes, one set of names. A portfolio file reads the account's values. A strategy file
reads its *own* P&L and exposure under the same names (`day_pnl`, `week_pnl`, `open_positions`,
`heat`, `portfolio_delta`, `portfolio_vega`, `losing_streak`, `winning_streak`), so a strategy's
`day_pnl <= -$500 -> halt` watches that strategy, not the account; `net_liq`, `buying_power`,
`cash`, `drawdown`, broker health, the market and the time stay the account's.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime

from brokers.model import Account
from rulesengine.check.names import ENUMS
from rulesengine.data.chain import Chain, to_seconds
from rulesengine.engine.book import PositionBook
from rulesengine.engine.clock import NEW_YORK
from rulesengine.engine.holdings import account_shares, take_cover
from rulesengine.engine.journal import Journal
from rulesengine.engine.limits import Exposure, opened_on, units
from rulesengine.engine.positions import Position
from rulesengine.engine.sessions import Sessions


def streaks(closed: list[Position]) -> tuple[int, int]:
    """(losing, winning) streaks of the most recent closed trades."""
    ordered = sorted(
        (p for p in closed if p.realised_pnl is not None and p.closed_at is not None),
        key=lambda p: (p.closed_at or datetime.min, p.id),
    )
    losing = winning = 0
    for p in reversed(ordered):
        if (p.realised_pnl or 0.0) > 0:
            if losing:
                break
            winning += 1
        else:
            if winning:
                break
            losing += 1
    return losing, winning


def period_start(journal: Journal, key: str, net_liq: float, now: datetime) -> float:
    """Net liq at the start of a period (day or week): the last snapshot before it, else now."""
    stored = journal.get(key)
    if stored is not None:
        return float(stored)
    before = journal.net_liq_before(now)
    value = before if before is not None else net_liq
    journal.put(key, repr(value))
    return value


def time_scalars(now: datetime, sessions: Sessions) -> dict[str, float]:
    local = now.astimezone(NEW_YORK)
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return {
        "minutes_to_close": sessions.minutes_to_close(local),
        "time": (local - midnight).total_seconds(),
        "today": to_seconds(local.date()),
        "weekday": float(ENUMS["weekday"].index(local.strftime("%a").lower())),
    }


def vix(chain: Chain | None, now: datetime) -> float:
    bars = chain.bars.get("VIX") if chain is not None else None
    if bars is None or not len(bars.dates):
        return float("nan")
    upto = bars.until(to_seconds(now.astimezone(NEW_YORK).date()))
    return float(upto.close[-1]) if len(upto.close) else float("nan")


def at_risk(book: PositionBook, committed: list[Position]) -> dict[str, float]:
    """Each position's max loss a structure, as risk counts it: a covered call's is 0 (the
    account's shares pay its upside), and what covers one covers no other."""
    free = account_shares(book.positions.values())
    return {
        p.id: 0.0
        if math.isinf(p.max_loss) and take_cover(p.legs, p.underlying, units(p), free)
        else p.max_loss
        for p in committed
    }


def free_shares(book: PositionBook) -> dict[str, float]:
    """The account's shares per underlying that no open or working short call covers yet."""
    free = account_shares(book.positions.values())
    for p in book.committed():
        if math.isinf(p.max_loss):
            take_cover(p.legs, p.underlying, units(p), free)
    return free


def exposure(
    book: PositionBook,
    strategy: str | None,
    now: datetime,
    broker_requirement: float | None = None,
    sectors: Mapping[str, tuple[str, ...]] | None = None,
) -> Exposure:
    """What `strategy` (None: the whole account) holds and has committed at `now`.

    The account's buying power in use is the broker's (`broker_requirement`, what its holdings
    need) plus what working entries would add; a strategy's is its positions' requirement."""
    committed = book.committed(strategy)
    per_unit = at_risk(book, committed)
    max_loss = sum(per_unit[p.id] * units(p) for p in committed)
    if broker_requirement is None:
        requirement = max_loss
    else:
        pending = sum(per_unit[p.id] * (units(p) - p.quantity) for p in committed)
        requirement = broker_requirement + pending
    delta = vega = 0.0
    for p in committed:
        mark = book.marks.get(p.id)
        held_delta = mark.delta if mark is not None and math.isfinite(mark.delta) else 0.0
        held_vega = mark.vega if mark is not None and math.isfinite(mark.vega) else 0.0
        unfilled = units(p) - (p.quantity if mark is not None else 0)
        delta += held_delta + float(p.detail.get("planned_delta", 0.0)) * unfilled
        vega += held_vega + float(p.detail.get("planned_vega", 0.0)) * unfilled
    today = now.astimezone(NEW_YORK).date()
    # holdings (shares delivered by assignment) weigh in risk and greeks, not in the
    # position counts limits cap: no entry opened them
    every = [
        p
        for p in book.positions.values()
        if (strategy is None or p.strategy == strategy) and not p.is_holding
    ]
    return Exposure(
        [p for p in committed if not p.is_holding],
        opened_on(every, today),
        float(max_loss),
        float(requirement),
        float(delta),
        float(vega),
        sectors or {},
    )


def account_scalars(
    account: Account,
    book: PositionBook,
    journal: Journal,
    now: datetime,
    held: Exposure,
) -> dict[str, float]:
    """The account's money, P&L periods, drawdown, streaks and exposure."""
    net_liq = float(account.net_liquidation)
    local = now.astimezone(NEW_YORK)
    day_open = period_start(journal, f"day_open:{local.date()}", net_liq, now)
    year, week, _ = local.isocalendar()
    week_open = period_start(journal, f"week_open:{year}-{week}", net_liq, now)
    peak = max(journal.peak_net_liq() or net_liq, net_liq)
    losing, winning = streaks(book.closed())
    return {
        "net_liq": net_liq,
        "buying_power": float(account.buying_power),
        "options_buying_power": float(account.option_buying_power),
        "cash": float(account.cash) if account.cash is not None else float("nan"),
        "day_pnl": net_liq - day_open,
        "week_pnl": net_liq - week_open,
        "drawdown": (peak - net_liq) / peak if peak > 0 else 0.0,
        "losing_streak": float(losing),
        "winning_streak": float(winning),
        "open_positions": float(sum(not p.is_holding for p in book.open_positions())),
        "heat": share(held.max_loss, net_liq),
        "portfolio_delta": held.delta,
        "portfolio_vega": held.vega,
    }


def share(amount: float, net_liq: float) -> float:
    """`amount` as a share of net liq: unknown without net liq, infinite with none left."""
    if math.isnan(net_liq):
        return float("nan")
    return amount / net_liq if net_liq > 0 else float("inf")


def pnl_parts(book: PositionBook, strategy: str | None = None) -> tuple[float, float, float]:
    """(realised, unrealised, open max loss) of a strategy, or of the account: realised is
    closed trades, parts closed and every fee paid; unrealised is what is held (filled units,
    whatever its status) at this tick's marks. Starting cash + realised + unrealised is the
    account's net liq."""
    realised = unrealised = open_max_loss = 0.0
    for p in book.positions.values():
        if strategy is not None and p.strategy != strategy:
            continue
        if p.realised_pnl is not None:
            realised += p.realised_pnl
        elif p.quantity:
            realised += float(p.detail.get("realised_part", 0.0)) - p.fees
            mark = book.marks.get(p.id)
            if mark is not None and math.isfinite(mark.pnl):
                unrealised += mark.pnl
            open_max_loss += p.max_loss * p.quantity
    return realised, unrealised, open_max_loss


def ledger(book: PositionBook) -> dict[str, float]:
    """The account's P&L parts the way reports audit them (`equity.csv`)."""
    realised, unrealised, open_max_loss = pnl_parts(book)
    return {
        "realised_pnl": round(realised, 2),
        "unrealised_pnl": round(unrealised, 2),
        "open_max_loss": round(open_max_loss, 2),
    }


def strategy_pnl(book: PositionBook, strategy: str) -> float:
    """Everything the strategy has made: realised (net of fees) plus what it holds at mid."""
    realised, unrealised, _ = pnl_parts(book, strategy)
    return realised + unrealised


def strategy_scalars(
    account: Mapping[str, float],
    strategy: str,
    book: PositionBook,
    journal: Journal,
    now: datetime,
) -> dict[str, float]:
    """The account's scalars with the strategy's own P&L and exposure in their place."""
    local = now.astimezone(NEW_YORK)
    total = strategy_pnl(book, strategy)
    year, week, _ = local.isocalendar()
    day_open = _strategy_period(journal, f"day_open:{strategy}:{local.date()}", strategy, total)
    week_open = _strategy_period(journal, f"week_open:{strategy}:{year}-{week}", strategy, total)
    held = exposure(book, strategy, now)
    losing, winning = streaks(book.closed(strategy))
    return {
        **account,
        "day_pnl": total - day_open,
        "week_pnl": total - week_open,
        "open_positions": float(sum(not p.is_holding for p in book.open_positions(strategy))),
        "heat": share(held.max_loss, account.get("net_liq", float("nan"))),
        "portfolio_delta": held.delta,
        "portfolio_vega": held.vega,
        "losing_streak": float(losing),
        "winning_streak": float(winning),
    }


def remember_strategy_pnl(journal: Journal, strategy: str, total: float) -> None:
    """The latest total, so the next period starts from where this one ended."""
    journal.put(f"pnl_total:{strategy}", repr(total))


def _strategy_period(journal: Journal, key: str, strategy: str, total: float) -> float:
    stored = journal.get(key)
    if stored is not None:
        return float(stored)
    last = journal.get(f"pnl_total:{strategy}")
    value = float(last) if last is not None else total
    journal.put(key, repr(value))
    return value
