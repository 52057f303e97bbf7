"""Wiring for one run of the engine over a data directory, and the run's summary."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path

from brokers.paper.broker import DEFAULT_CASH, PaperBroker
from brokers.paper.market import QuoteBook
from rulesengine.engine.clock import ManualClock
from rulesengine.engine.journal import Journal
from rulesengine.engine.loop import Engine
from rulesengine.engine.ruleset import RuleSet
from rulesengine.engine.sessions import Sessions

DEFAULT_DATA_DIR = ".rules-data"
JOURNAL_FILE = "journal.sqlite"
PAPER_FILE = "paper.json"


@dataclass
class PaperSession:
    engine: Engine
    broker: PaperBroker
    clock: ManualClock
    journal: Journal


def open_paper_session(
    rules: RuleSet,
    data_dir: Path,
    start: datetime,
    *,
    fresh: bool = False,
    say=print,
    starting_cash: Decimal = DEFAULT_CASH,
) -> PaperSession:
    """The engine over the paper broker, both keeping their state in `data_dir`."""
    if fresh and data_dir.exists():
        shutil.rmtree(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    journal = Journal(data_dir / JOURNAL_FILE)
    last = journal.get("last_tick")
    clock = ManualClock(max(start, datetime.fromisoformat(last)) if last else start)
    sessions = Sessions()
    broker = PaperBroker(
        QuoteBook(),
        state_path=data_dir / PAPER_FILE,
        starting_cash=starting_cash,
        market_closed=sessions.closed_reason,
    )
    engine = Engine(
        rules,
        broker,
        journal,
        clock,
        data_dir=data_dir,
        sessions=sessions,
        say=say,
        model_marks=broker.book.set_model_marks,
    )
    engine.record_rules(clock.now())
    return PaperSession(engine, broker, clock, journal)


def summary(journal: Journal) -> dict:
    """Trades, P&L, breakers and decisions of everything in a journal."""
    positions = journal.positions()
    traded = [p for p in positions if p.status != "unfilled" and p.strategy != "adopted"]
    closed = [p for p in traded if p.status == "closed"]
    realised = sum(p.realised_pnl or 0.0 for p in closed)
    snapshots = list(journal.snapshots())
    first = snapshots[0]["net_liq"] if snapshots else None
    last = snapshots[-1]["net_liq"] if snapshots else None
    by_kind = journal.decision_counts()
    locks = journal.locks()
    return {
        "entries": sum(1 for p in traded if p.roll_number == 0),
        "rolls": sum(1 for p in traded if p.roll_number > 0),
        "closed": len(closed),
        "open": sum(1 for p in traded if p.is_open),
        "wins": sum(1 for p in closed if (p.realised_pnl or 0) > 0),
        "realised_pnl": round(realised, 2),
        "net_liq_start": first,
        "net_liq_end": last,
        "pnl": round(last - first, 2) if first is not None and last is not None else None,
        "breakers": [f"{lock.scope}.{lock.name} -> {lock.action}" for lock in locks],
        "decisions": sum(by_kind.values()),
        "decisions_by_kind": by_kind,
        "orders": len(journal.orders()),
    }
