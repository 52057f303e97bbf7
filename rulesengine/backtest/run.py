"""A backtest is a replay: the same engine, paper broker, fills, breakers and exits as
`rules run --replay`, into a fresh journal, read back as trades and an equity curve."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path

from brokers.paper.settings import AccountSettings
from rulesengine.backtest.metrics import Metrics, Trade, compute, strategy_equity
from rulesengine.backtest.rejections import Rejection, rejections
from rulesengine.engine.clock import NEW_YORK
from rulesengine.engine.journal import Journal
from rulesengine.engine.positions import Position, describe_legs
from rulesengine.engine.reconcile import reconcile
from rulesengine.engine.record import TickReport
from rulesengine.engine.replay import DEFAULT_AT, ReplaySource, replay
from rulesengine.engine.ruleset import RuleSet
from rulesengine.engine.session import JOURNAL_FILE, open_paper_session


@dataclass
class BacktestResult:
    label: str
    model_generated: bool
    days: list[date]
    equity: list[float]
    trades: list[Trade]
    still_open: list[Position]
    overall: Metrics
    by_strategy: dict[str, Metrics] = field(default_factory=dict)
    journal: Path | None = None
    ledger: list[dict[str, float | str]] = field(default_factory=list)  # equity.csv, per day
    starting: float = float("nan")  # net liq before the first order (the starting capital)
    rejections: list[Rejection] = field(default_factory=list)  # why so few trades


def run_backtest(
    rules: RuleSet,
    source: ReplaySource,
    out_dir: Path,
    *,
    at: time = DEFAULT_AT,
    on_day: Callable[[date, int], None] | None = None,
    say: Callable[[str], None] = lambda message: None,
    settings: AccountSettings | None = None,
    on_tick: Callable[[TickReport], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> BacktestResult:
    """Replay `source` through the engine into `out_dir` (emptied first) and measure it."""
    session = open_paper_session(
        rules, out_dir, source.times(at)[0], fresh=True, say=say, settings=settings
    )
    try:
        asyncio.run(_replay(session, source, at, on_day, on_tick, should_stop))
        return measure(session.journal, source, out_dir / JOURNAL_FILE)
    finally:
        session.journal.close()


async def _replay(
    session, source: ReplaySource, at: time, on_day, on_tick=None, should_stop=None
) -> None:
    # exactly what `rules run --replay` does, so the two journals match (the parity test)
    await reconcile(session.engine, session.clock.now())
    await replay(
        session.engine,
        source,
        session.broker,
        session.clock,
        at=at,
        on_day=on_day,
        on_tick=on_tick,
        should_stop=should_stop or (lambda: False),
    )
    await session.broker.aclose()


def measure(journal: Journal, source: ReplaySource, path: Path | None = None) -> BacktestResult:
    days, equity = equity_curve(journal)
    starting = starting_net_liq(journal)
    positions = [p for p in journal.positions() if p.strategy != "adopted"]
    trades = trades_of(journal, positions)
    still_open = [p for p in positions if p.is_open]
    overall = compute(trades, days, equity, [p.opened_at for p in still_open], starting)
    by_strategy = {}
    for name in sorted({p.strategy for p in positions if p.status != "unfilled"}):
        mine = [t for t in trades if t.strategy == name]
        curve = strategy_equity(mine, days, starting) if equity else []
        opened = [p.opened_at for p in still_open if p.strategy == name]
        by_strategy[name] = compute(mine, days, curve, opened, starting)
    return BacktestResult(
        source.label, source.model_generated, days, equity, trades, still_open, overall,
        by_strategy, path, daily_ledger(journal), starting, rejections(journal),
    )  # fmt: skip


def starting_net_liq(journal: Journal) -> float:
    """Net liq at the first snapshot: taken at the first tick, before any order is sent."""
    first = next(journal.snapshots(), None)
    return float(first["net_liq"]) if first is not None else float("nan")


def equity_curve(journal: Journal) -> tuple[list[date], list[float]]:
    """The last net liquidation value of each replayed day."""
    by_day: dict[date, float] = {}
    for row in journal.snapshots():
        if row["net_liq"] is not None:
            day = datetime.fromisoformat(row["at"]).astimezone(NEW_YORK).date()
            by_day[day] = float(row["net_liq"])
    days = sorted(by_day)
    return days, [by_day[d] for d in days]


LEDGER_COLUMNS = ("net_liq", "cash", "realised_pnl", "unrealised_pnl", "open_max_loss")


def daily_ledger(journal: Journal) -> list[dict[str, float | str]]:
    """The last snapshot of each day: net liq and its parts (see engine.account.ledger)."""
    by_day: dict[date, dict[str, float | str]] = {}
    for row in journal.snapshots():
        detail = json.loads(row["detail"] or "{}")
        if row["net_liq"] is None or "realised_pnl" not in detail:
            continue
        day = datetime.fromisoformat(row["at"]).astimezone(NEW_YORK).date()
        by_day[day] = {"date": day.isoformat(), **{c: detail.get(c) for c in LEDGER_COLUMNS}}
    return [by_day[d] for d in sorted(by_day)]


def trades_of(journal: Journal, positions: list[Position]) -> list[Trade]:
    reasons = _entry_reasons(journal)
    trades = []
    for p in positions:
        if p.status != "closed" or p.closed_at is None or p.realised_pnl is None:
            continue
        entry = reasons.get(p.id, f"roll {p.roll_number}" if p.roll_number else "")
        trades.append(
            Trade(
                p.strategy,
                p.opened_at,
                p.closed_at,
                float(p.realised_pnl),
                describe_legs(p.legs),
                entry,
                p.exit_reason or "",
                quantity=p.quantity,
                entry_price=p.entry_price,
                entry_mid=_number(p.detail.get("entry_mid")),
                exit_price=_number(p.detail.get("exit_fill", p.detail.get("exit_price"))),
                exit_mid=_number(p.detail.get("exit_mid", p.detail.get("exit_price"))),
                fees=p.fees,
            )
        )
    return sorted(trades, key=lambda t: (t.closed, t.strategy, t.structure))


def _number(value) -> float:
    return float(value) if value is not None else float("nan")


def _entry_reasons(journal: Journal) -> dict[str, str]:
    out = {}
    for row in journal.decisions_of("candidate", "entered"):
        detail = json.loads(row["detail"]) if row["detail"] else {}
        if "position" in detail:
            out[detail["position"]] = row["reason"]
    return out
