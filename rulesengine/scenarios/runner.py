"""Run one scenario through the real engine: the paper broker, the journal, the same tick
`rules run` uses. What the rules decided is read back from the journal, tick by tick."""

from __future__ import annotations

import asyncio
import json
import math
import tempfile
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

import numpy as np

from brokers.errors import BrokerUnavailable
from brokers.paper.broker import PaperBroker
from brokers.paper.settings import AccountSettings
from rulesengine.data.chain import Bars, Chain, from_seconds, to_seconds
from rulesengine.engine.clock import NEW_YORK
from rulesengine.engine.journal import Journal, stable_id
from rulesengine.engine.marks import MULTIPLIER
from rulesengine.engine.positions import Position, PositionLeg, Status
from rulesengine.engine.replay import (
    DEFAULT_AT,
    ReplayError,
    ReplaySource,
    open_replay,
    run_snapshot,
    stamp,
)
from rulesengine.engine.ruleset import RulesError, RuleSet, load_rules
from rulesengine.engine.session import PaperSession, open_paper_session
from rulesengine.engine.tally import ClauseTally
from rulesengine.scenarios.model import PositionSpec, Scenario, ScenarioError, Tick


@dataclass
class TickRecord:
    at: datetime
    decisions: list[dict]
    orders: list[dict]
    alerts: list[dict] = field(default_factory=list)


@dataclass
class ScenarioRun:
    """What the rules decided in one scenario, and which clauses they exercised."""

    scenario: Scenario
    market: str
    model_generated: bool
    rules: list[str]
    ticks: list[TickRecord] = field(default_factory=list)
    positions: list[Position] = field(default_factory=list)
    checks: ClauseTally = field(default_factory=ClauseTally)
    clauses: dict[str, list[str]] = field(default_factory=dict)  # rule file -> monitored clauses
    messages: list[str] = field(default_factory=list)


def run_scenario(scenario: Scenario, file: Path, rules_dir: Path | None = None) -> ScenarioRun:
    """Run `scenario` (from `file`) on the rule files of `rules_dir` (default: the directory
    above the scenario's `tests/`). ScenarioError for anything the trader must fix."""
    rules_dir = rules_dir or file.parent.parent
    rules, names = _rules(scenario, file, rules_dir)
    try:
        source = _market(scenario.market, file.parent)
    except ScenarioError as error:
        raise ScenarioError(f"{file}: scenario '{scenario.name}': {error}") from None
    times = [t.astimezone(NEW_YORK) for t in source.times()] if source.intraday else None
    ticks = scenario.tick_list(source.days(), times)
    missing = [t.date for t in ticks if t.date not in set(source.days())]
    if missing:
        days = ", ".join(d.isoformat() for d in source.days()[:8])
        raise ScenarioError(
            f"{file}: scenario '{scenario.name}': {missing[0]} is not a quote date of "
            f"{source.label} (it has {days}{'...' if len(source.days()) > 8 else ''})"
        )
    with tempfile.TemporaryDirectory(prefix="rules-test-") as workdir:
        run = ScenarioRun(scenario, source.label, source.model_generated, names)
        run.clauses = {c.program.file: monitored_clauses(c.program) for c in rules.every()}
        session = open_paper_session(
            rules,
            Path(workdir),
            stamp(ticks[0].date, ticks[0].at or DEFAULT_AT),
            say=run.messages.append,
            settings=_account(rules, scenario),
        )
        try:
            first = stamp(ticks[0].date, ticks[0].at or DEFAULT_AT)
            _seed(session, scenario, source.snapshot(first), ticks[0], file)
            asyncio.run(_replay(session, source, scenario, ticks, run))
            run.positions = session.journal.positions()
        finally:
            session.journal.close()
    return run


def monitored_clauses(program) -> list[str]:
    """Clauses judged on positions and the account (scan clauses come from the funnel)."""
    found = [f"exit {name}" for name in program.exits]
    if program.roll is not None:
        found.append("roll.when")
    return found + [f"breaker {name}" for name in program.breakers]


def _rules(scenario: Scenario, file: Path, rules_dir: Path) -> tuple[RuleSet, list[str]]:
    paths = [rules_dir / name for name in scenario.rules] if scenario.rules else [rules_dir]
    for path in paths:
        if not path.exists():
            raise ScenarioError(
                f"{file}: scenario '{scenario.name}': no rule file {path} "
                f"(rules: names files relative to {rules_dir})"
            )
    try:
        rules = load_rules(paths)
    except RulesError as error:
        broken = [r.file for r in error.results if r.errors]
        detail = f" (run `rules lint {' '.join(broken)}`)" if broken else ""
        raise ScenarioError(f"{file}: scenario '{scenario.name}': {error}{detail}") from None
    names = sorted(Path(c.program.file).name for c in rules.every())
    return rules, names


@lru_cache(maxsize=8)
def _cached_market(spec: str) -> ReplaySource:
    return open_replay(spec)


def _market(spec: str, base: Path) -> ReplaySource:
    if spec not in {"spx", "bundled"} and not spec.startswith("synthetic"):
        spec = str((base / spec).resolve())
    try:
        return _cached_market(spec)
    except ReplayError as error:
        raise ScenarioError(f"market {spec}: {error}") from None


async def _replay(session: PaperSession, source, scenario: Scenario, ticks, run) -> None:
    journal, engine = session.journal, session.engine
    last = {"decisions": 0, "orders": 0, "alerts": 0}
    whens = [stamp(tick.date, tick.at) for tick in ticks]
    for i, tick in enumerate(ticks):
        when = whens[i]
        snapshot = source.snapshot(when)
        if scenario.vix is not None:
            vix = Bars.from_closes({to_seconds(tick.date): scenario.vix})
            snapshot.bars = {**snapshot.bars, "VIX": vix}
        following = whens[i + 1] if i + 1 < len(whens) and source.intraday else None
        engine.broker = _Outage(session.broker) if tick.broker_down else session.broker
        try:
            report = await run_snapshot(
                engine, session.broker, session.clock, snapshot, when, following
            )
        finally:
            engine.broker = session.broker
        run.checks.merge(report.checks)
        new = {}
        for table in last:
            new[table] = _rows(journal, table, last[table])
            last[table] = max([last[table], *(row["rowid"] for row in new[table])])
        run.ticks.append(TickRecord(when, new["decisions"], new["orders"], new["alerts"]))


def _rows(journal: Journal, table: str, after: int) -> list[dict]:
    rows = []
    for row in journal.rows_after(table, after):
        record = dict(row)
        if isinstance(record.get("detail"), str):
            record["detail"] = json.loads(record["detail"])
        rows.append(record)
    return rows


class _Outage:
    """The paper broker during an outage: every call the engine makes fails with a 503."""

    def __init__(self, broker: PaperBroker):
        self._broker = broker

    def __getattr__(self, name: str):
        attribute = getattr(self._broker, name)
        if not callable(attribute):
            return attribute

        async def failing(*args, **kwargs):
            raise BrokerUnavailable(f"{name}: 503 Service Unavailable (scenario outage)")

        return failing


# ---------------------------------------------------------------- seeding
def _seed(session: PaperSession, scenario: Scenario, snapshot: Chain, first: Tick, file) -> None:
    """Open positions, earlier trades and the high-water mark, as if the engine had run."""
    journal, engine = session.journal, session.engine
    start = stamp(first.date, first.at or DEFAULT_AT)
    for strategy, pnls in sorted(scenario.account.closed_trades.items()):
        for n, pnl in enumerate(pnls):
            closed_at = start - timedelta(days=len(pnls) - n)
            p = _closed_trade(strategy, n, pnl, closed_at)
            journal.save_position(p)
            engine.positions[p.id] = p
    if scenario.account.peak_net_liq is not None:
        journal.snapshot(start - timedelta(days=7), {"net_liq": scenario.account.peak_net_liq})
    cash = float(scenario.account.cash)
    year, week, _ = first.date.isocalendar()
    journal.put(f"day_open:{first.date}", repr(cash))  # the scenario starts at zero P&L
    journal.put(f"week_open:{year}-{week}", repr(cash))
    # ... and so does each strategy: its seeded positions' P&L is today's, as the account's is
    earlier = scenario.account.closed_trades
    for strategy in sorted({spec.strategy for spec in scenario.positions} | set(earlier)):
        before = repr(float(sum(earlier.get(strategy, []))))
        journal.put(f"day_open:{strategy}:{first.date}", before)
        journal.put(f"week_open:{strategy}:{year}-{week}", before)
    for n, spec in enumerate(scenario.positions):
        where = f"{file}: scenario '{scenario.name}': position {n + 1} ({spec.strategy})"
        p = _open_position(session, spec, snapshot, start, n, where)
        journal.save_position(p)
        engine.positions[p.id] = p
    journal.commit()


def _closed_trade(strategy: str, n: int, pnl: float, closed_at: datetime) -> Position:
    pid = "p-" + stable_id("scenario-closed", strategy, str(n))[:10]
    return Position(
        id=pid,
        strategy=strategy,
        version="scenario",
        underlying="",
        legs=[],
        opened_at=closed_at - timedelta(days=1),
        entry_key=f"scenario-{pid}",
        quantity=1,
        ordered=1,
        status=Status.CLOSED,
        closed_at=closed_at,
        realised_pnl=float(pnl),
        exit_reason="before the scenario",
    )


def _open_position(
    session: PaperSession, spec: PositionSpec, snapshot: Chain, start: datetime, n: int, where
) -> Position:
    legs, mids, underlying = [], [], ""
    for name, leg in spec.leg_specs().items():
        row = _find_row(snapshot, leg.kind, leg.strike, leg.expiry, spec.underlying)
        if row is None:
            raise ScenarioError(
                f"{where}: leg {name}: no {leg.kind} {leg.strike:g} expiring {leg.expiry} "
                f"{'of ' + spec.underlying + ' ' if spec.underlying else ''}"
                f"in the market on {_snapshot_date(snapshot)}"
            )
        ratio = leg.count * (1 if leg.side == "buy" else -1)
        symbol = str(snapshot.column("symbol")[row])
        legs.append(PositionLeg(name, symbol, ratio, leg.kind, leg.strike, leg.expiry.isoformat()))
        mids.append(float(snapshot.column("mid")[row]))
        underlying = str(snapshot.column("underlying_symbol")[row])
    ledger = session.broker.ledger
    for held, mid in zip(legs, mids, strict=True):
        price = Decimal(str(round(mid if math.isfinite(mid) else 0.0, 2)))
        ledger.book(held.symbol, held.ratio * spec.quantity, price, int(MULTIPLIER), underlying)
    # the legs were booked at mid; the trader's price is the net that really changed hands
    net_mid = -sum(
        leg.ratio * round(m if math.isfinite(m) else 0.0, 2)
        for leg, m in zip(legs, mids, strict=True)
    )
    ledger.cash += Decimal(str(round((spec.price - net_mid) * MULTIPLIER * spec.quantity, 2)))
    max_profit, max_loss = payoff_extremes(legs, spec.price)
    opened = stamp(spec.opened) if spec.opened else start - timedelta(days=1)
    pid = "p-" + stable_id("scenario", spec.strategy, str(n))[:10]
    return Position(
        id=pid,
        strategy=spec.strategy,
        version="scenario",
        underlying=underlying,
        legs=legs,
        opened_at=opened,
        entry_key=f"scenario-{pid}",
        quantity=spec.quantity,
        ordered=spec.quantity,
        entry_price=spec.price,
        max_profit=max_profit,
        max_loss=max_loss,
        status=Status.OPEN,
        root_id=None,
        # what an entry records: the underlying's price (the ATR stops of packs read it)
        detail={
            "seeded": "scenario",
            "entry_underlying_price": _underlying_price(snapshot, underlying),
        },
    )


def _underlying_price(snapshot: Chain, underlying: str) -> float:
    rows = np.flatnonzero(snapshot.columns["underlying_symbol"] == underlying)
    return float(snapshot.columns["underlying_price"][rows[0]]) if len(rows) else math.nan


def _snapshot_date(snapshot: Chain) -> date:
    return from_seconds(float(snapshot.columns["quote_date"][0]))


def _find_row(
    snapshot: Chain, kind: str, strike: float, expiry: date, underlying: str | None = None
) -> int | None:
    c = snapshot.columns
    hits = (
        (c["type"] == (1 if kind == "call" else 0))
        & np.isclose(c["strike"], strike)
        & (c["expiry"] == to_seconds(expiry))
    )
    if underlying is not None:
        hits &= c["underlying_symbol"] == underlying
    found = np.flatnonzero(hits)
    return int(found[0]) if len(found) else None


def payoff_extremes(legs: list[PositionLeg], credit: float) -> tuple[float, float]:
    """($ max profit, $ max loss) per structure at expiry: the payoff is piecewise linear, so
    the extremes sit at a strike, at zero or run off to infinity (an uncovered call)."""

    def payoff(s: float) -> float:
        value = credit
        for leg in legs:
            intrinsic = max(s - leg.strike, 0.0) if leg.kind == "call" else max(leg.strike - s, 0.0)
            value += leg.ratio * intrinsic
        return value * MULTIPLIER

    strikes = sorted({leg.strike for leg in legs})
    points = [0.0, *strikes]
    values = [payoff(s) for s in points]
    top = strikes[-1] if strikes else 0.0
    slope = round(payoff(top + 1.0) - payoff(top), 6)  # $ per point above the top strike
    high = math.inf if slope > 0 else max(values)
    low = -math.inf if slope < 0 else min(values)
    return high, -low


def _account(rules: RuleSet, scenario) -> AccountSettings:
    """The scenario's cash, at the option level and account type the rules ask for."""
    base = rules.paper or AccountSettings()
    return AccountSettings(Decimal(str(scenario.account.cash)), base.option_level, base.margin)
