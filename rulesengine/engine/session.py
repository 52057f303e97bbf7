"""Wiring for one run of the engine over a data directory, and the run's summary."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path

from brokers.paper.broker import DEFAULT_CASH, PaperBroker
from brokers.paper.market import QuoteBook
from brokers.paper.settings import AccountSettings
from rulesengine.engine.clock import ManualClock
from rulesengine.engine.journal import Journal
from rulesengine.engine.loop import Engine
from rulesengine.engine.ruleset import RuleSet
from rulesengine.engine.sessions import Sessions

DEFAULT_DATA_DIR = ".rules-data"
JOURNAL_FILE = "journal.sqlite"
PAPER_FILE = "paper.json"


class SessionError(Exception):
    """A data directory that cannot be opened as asked; the message says what to do."""


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
    settings: AccountSettings | None = None,
    notify: bool = False,
) -> PaperSession:
    """The engine over the paper broker, both keeping their state in `data_dir`. `settings`
    (else the rules' `paper:` block, else $100k at level 3) opens a new account; an existing
    one keeps its own, and asking for different ones is a SessionError."""
    if fresh and data_dir.exists():
        shutil.rmtree(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    asked = settings or rules.paper
    chosen = asked or AccountSettings(cash=Decimal(starting_cash))
    journal = Journal(data_dir / JOURNAL_FILE, power_safe=False)  # paper: see Journal
    last = journal.get("last_tick")
    clock = ManualClock(max(start, datetime.fromisoformat(last)) if last else start)
    sessions = Sessions()
    broker = PaperBroker(
        QuoteBook(),
        state_path=data_dir / PAPER_FILE,
        settings=chosen,
        market_closed=sessions.closed_reason,
    )
    held = broker.ledger.settings
    if asked is not None and held != asked:
        journal.close()
        raise SessionError(
            f"the paper account in {data_dir} was opened as a {held.describe()}, not a "
            f"{asked.describe()}: add --fresh to start over, or use another --data-dir"
        )
    journal.put("paper_settings", json.dumps(held.to_json()))
    engine = Engine(
        rules,
        broker,
        journal,
        clock,
        data_dir=data_dir,
        sessions=sessions,
        say=say,
        model_marks=broker.book.set_model_marks,
        notify=notify,
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
