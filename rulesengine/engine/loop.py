"""The engine: one `tick` per market snapshot.

    sync orders -> account scalars -> breakers and locks -> mark positions
    -> monitor (exits, rolls) where due -> scan (size, limits, preview, place) where due

Every decision goes to the journal with its reason; every order intent is committed before it
is sent, so a crash at any point is recovered by `reconcile` without a second order.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np

from brokers.errors import BrokerError, NotFound, NotSupported, OrderRejected
from brokers.model import Intent, Order, OrderLeg, OrderRequest, OrderStatus
from brokers.protocol import Broker
from rulesengine.check.program import Checked, FieldRef
from rulesengine.data.chain import Chain
from rulesengine.engine import account as acct
from rulesengine.engine import orders
from rulesengine.engine.breakers import KILL_SCOPE, Gate, gate, kill_lock, trips
from rulesengine.engine.clock import NEW_YORK, Clock
from rulesengine.engine.journal import Journal, Lock, stable_id
from rulesengine.engine.limits import Proposal, limit_problem
from rulesengine.engine.marks import (
    MULTIPLIER,
    PositionView,
    ScalarView,
    SymbolIndex,
    position_view,
)
from rulesengine.engine.positions import Position
from rulesengine.engine.ruleset import Compiled, RuleSet
from rulesengine.engine.schedules import Scheduler
from rulesengine.engine.sessions import Sessions
from rulesengine.engine.sizing import TradeStats, size_trade
from rulesengine.engine.tally import ClauseTally
from rulesengine.language import ast
from rulesengine.runtime.evaluate import Evaluator
from rulesengine.strategies.scan import candidate_records, legs_shapes, scan, structure_view

log = logging.getLogger("rulesengine.engine")

CANDIDATES_EXAMINED = 5  # ranked candidates tried per scan before giving up
LIVE_STATUSES = ("pending", "working", "partially_filled", "unknown")
DEFAULT_MAX_QUOTE_AGE = 60.0  # seconds
ROLL_MIN_CREDIT = 0.05  # a credit-only roll must net at least a nickel (one complex tick)


@dataclass
class TickReport:
    at: datetime
    entries: int = 0
    exits: int = 0
    rolls: int = 0
    trips: list[str] = field(default_factory=list)
    decisions: int = 0
    checks: ClauseTally = field(default_factory=ClauseTally)  # for `rules test --coverage`


class Engine:
    def __init__(
        self,
        rules: RuleSet,
        broker: Broker,
        journal: Journal,
        clock: Clock,
        *,
        data_dir: Path,
        sessions: Sessions | None = None,
        max_quote_age: float = DEFAULT_MAX_QUOTE_AGE,
        say: Callable[[str], None] = lambda message: None,
    ):
        self.rules = rules
        self.broker = broker
        self.journal = journal
        self.clock = clock
        self.data_dir = data_dir
        self.sessions = sessions or Sessions()
        self.scheduler = Scheduler(self.sessions)
        self.max_quote_age = max_quote_age
        self.say = say
        self.retired: dict[str, Compiled] = {}  # strategies removed by a reload, still held
        self.positions: dict[str, Position] = {p.id: p for p in journal.positions()}
        self.broker_errors = 0
        self.market: Chain | None = None
        self.index: SymbolIndex | None = None
        self.as_of: datetime | None = None
        self.marks: dict[str, dict[str, float]] = {}
        self.last_scalars: dict[str, float] | None = None
        self.views: dict[str, tuple[list[Position], PositionView]] = {}
        self.report = TickReport(clock.now())
        self.ran: list[str] = []  # schedules run this tick, recorded when the tick completes

    # ---------------------------------------------------------------- rules
    def record_rules(self, at: datetime) -> None:
        for compiled in self.rules.every():
            p = compiled.program
            self.journal.record_version(compiled.version, p.name, p.file, p.text, at, "active")
        self.journal.commit()

    def swap_rules(self, rules: RuleSet) -> None:
        """Replace the rules between ticks; strategies still holding positions stay known."""
        for name, compiled in self.rules.strategies.items():
            if name not in rules.strategies:
                self.retired[name] = compiled
        self.rules = rules
        self.record_rules(self.clock.now())

    def compiled(self, strategy: str) -> Compiled | None:
        return self.rules.strategies.get(strategy) or self.retired.get(strategy)

    # ---------------------------------------------------------------- the tick
    async def tick(self, chain: Chain, as_of: datetime | None = None) -> TickReport:
        now = self.clock.now()
        self.report = TickReport(now)
        self.ran = []
        self.market, self.as_of = chain, as_of or now
        self.index = SymbolIndex(chain)
        await self.sync_orders()
        scalars = await self.scalars(now)
        if scalars is None:  # no account: breakers still see the errors, nothing else runs
            if self.last_scalars is not None:
                await self.breakers(now, {**self.last_scalars, "broker_errors": self.broker_errors})
            self.journal.commit()
            return self.report
        self.last_scalars = scalars
        self.settle_expired(now)
        self.mark_positions(now, scalars)
        await self.breakers(now, scalars)
        locks = self.journal.locks()
        for name, compiled in list(self.rules.strategies.items()) + list(self.retired.items()):
            allowed = gate(locks, name, now)
            await self.enforce(name, allowed, now)
            if self._due(compiled, "monitor", now):
                await self.monitor(compiled, now, scalars, allowed)
        for name, compiled in self.rules.strategies.items():
            allowed = gate(locks, name, now)
            if self._due(compiled, "scan", now):
                await self.scan_and_enter(compiled, now, scalars, allowed)
        for key in self.ran:  # only a finished tick counts as run: a crash re-runs it whole
            self.journal.put(key, now.isoformat())
        self.journal.snapshot(now, {k: v for k, v in scalars.items() if math.isfinite(v)})
        self.journal.put("last_tick", now.isoformat())
        self.journal.commit()
        return self.report

    def _due(self, compiled: Compiled, kind: str, now: datetime) -> bool:
        key = f"schedule:{compiled.name}:{kind}"
        last_text = self.journal.get(key)
        last = datetime.fromisoformat(last_text) if last_text else None
        if last is not None and last >= now:
            return False
        due = self.scheduler.due(compiled.program.schedules.get(kind), last, now)
        if due:
            self.ran.append(key)
        return due

    # ---------------------------------------------------------------- account
    async def scalars(self, now: datetime) -> dict[str, float] | None:
        try:
            account = await self.broker.account()
        except BrokerError as error:
            self.broker_failed(now, "account", error)
            return None
        self.broker_errors = 0
        net_liq = float(account.net_liquidation)
        local = now.astimezone(NEW_YORK)
        day_open = acct.period_start(self.journal, f"day_open:{local.date()}", net_liq, now)
        year, week, _ = local.isocalendar()
        week_open = acct.period_start(self.journal, f"week_open:{year}-{week}", net_liq, now)
        peak = max(self.journal.peak_net_liq() or net_liq, net_liq)
        closed = [p for p in self.positions.values() if p.status == "closed"]
        losing, winning = acct.streaks(closed)
        held = self.open_positions()
        exposure = acct.exposure(held, self.marks)
        health = getattr(self.broker, "health", None)
        values = {
            "net_liq": net_liq,
            "buying_power": float(account.buying_power),
            "options_buying_power": float(account.option_buying_power),
            "cash": float(account.cash) if account.cash is not None else float("nan"),
            "day_pnl": net_liq - day_open,
            "week_pnl": net_liq - week_open,
            "drawdown": (peak - net_liq) / peak if peak > 0 else 0.0,
            "losing_streak": float(losing),
            "winning_streak": float(winning),
            "open_positions": float(len(held)),
            "heat": exposure["max_loss"] / net_liq if net_liq > 0 else float("inf"),
            "portfolio_delta": exposure["delta"],
            "portfolio_vega": exposure["vega"],
            "broker_errors": float(self.broker_errors),
            "rate_limited": float(len(getattr(health, "recent_429", ()) or ())),
            "data_age": max(0.0, (now - self.as_of).total_seconds()) if self.as_of else 0.0,
            "vix": acct.vix(self.market, now),
        }
        values.update(acct.time_scalars(now, self.sessions))
        return values

    def broker_failed(self, now: datetime, what: str, error: BrokerError) -> None:
        self.broker_errors += 1
        self.alert(now, "error", f"broker {what} failed ({self.broker_errors} in a row): {error}")

    def open_positions(self, strategy: str | None = None) -> list[Position]:
        return [
            p
            for p in self.positions.values()
            if p.is_open and (strategy is None or p.strategy == strategy)
        ]

    def holdings(self) -> dict[str, int]:
        """Net units per symbol the engine's positions hold at the broker."""
        net: dict[str, int] = {}
        for p in self.positions.values():
            if p.is_open or (p.status == "opening" and p.quantity):
                for symbol, qty in p.holdings().items():
                    net[symbol] = net.get(symbol, 0) + qty
        return net

    def intents(self, legs: list[OrderLeg], quantity: int) -> list[OrderLeg]:
        """Open or close per leg from the account's net holding, as brokers require: buying a
        put the account is net short of is a buy to close, whichever position it belongs to."""
        held = self.holdings()
        out = []
        for leg in legs:
            change, have = leg.ratio * quantity, held.get(leg.symbol, 0)
            closes = have != 0 and (have > 0) != (change > 0) and abs(change) <= abs(have)
            out.append(OrderLeg(leg.symbol, leg.ratio, Intent.CLOSE if closes else Intent.OPEN))
        return out

    def alert(self, now: datetime, level: str, message: str) -> None:
        if self.journal.alert(now, level, message):
            log.warning(message)
            self.say(f"[{level}] {message}")

    def decide(self, now, compiled, kind, subject, outcome, reason, detail=None) -> None:
        version = compiled.version if compiled else None
        strategy = compiled.name if compiled else "engine"
        self.journal.decide(now, strategy, version, kind, subject, outcome, reason, detail)
        self.report.decisions += 1

    # ---------------------------------------------------------------- breakers
    async def breakers(self, now: datetime, scalars: dict[str, float]) -> None:
        locks = self.journal.locks()
        kill_file = self.data_dir / "KILL"
        if kill_file.exists() and not any(
            lock.scope == KILL_SCOPE and lock.active(now) for lock in locks
        ):
            reason = kill_file.read_text(errors="replace").strip() or "kill switch file present"
            locks.append(self._trip(kill_lock(now, f"{kill_file.name}: {reason}")))
        tally = self.report.checks
        for lock in trips(self.rules.every(), scalars, locks, now, self.sessions, tally):
            self._trip(lock)

    def _trip(self, lock: Lock) -> Lock:
        self.journal.save_lock(lock)
        until = lock.until.isoformat() if lock.until else "lifted by hand (`rules unlock`)"
        self.report.trips.append(f"{lock.scope}.{lock.name} -> {lock.action}")
        self.decide(
            lock.started_at,
            self.compiled(lock.scope),
            "breaker",
            f"{lock.scope}.{lock.name}",
            lock.action,
            lock.reason,
            {"until": until},
        )
        self.alert(
            lock.started_at,
            "breaker",
            f"{lock.scope}.{lock.name} tripped -> {lock.action} until {until}: {lock.reason}",
        )
        return lock

    async def enforce(self, strategy: str, allowed: Gate, now: datetime) -> None:
        if allowed.cancel_entries:
            for row in self.journal.orders(("working", "partially_filled")):
                if row["strategy"] == strategy and row["purpose"] == "entry" and row["broker_id"]:
                    await self._cancel(row, now, allowed.because)
        if allowed.close_all:
            for p in self.open_positions(strategy):
                if p.status == "open":
                    credit = self.marks.get(p.id, {}).get("close_credit")
                    await self.close(p, now, f"close_all ({allowed.because})", credit)

    async def _cancel(self, row, now: datetime, because: str) -> None:
        try:
            order = await self.broker.cancel(row["broker_id"])
        except BrokerError as error:
            self.broker_failed(now, "cancel", error)
            return
        self.decide(now, self.compiled(row["strategy"]), "cancel", row["key"], "cancelled", because)
        await self._apply(row, order, now)

    # ---------------------------------------------------------------- marks and monitor
    def mark_positions(self, now: datetime, scalars: dict[str, float]) -> None:
        """Mark every open position: P&L, high-water mark, greeks (for exits and exposure)."""
        self.views = {}
        by_strategy: dict[str, list[Position]] = {}
        for p in self.open_positions():
            by_strategy.setdefault(p.strategy, []).append(p)
        for name, held in by_strategy.items():
            compiled = self.compiled(name)
            if compiled is None or self.index is None:
                continue
            view = position_view(held, legs_shapes(compiled.program), self.index, scalars, now)
            self.views[name] = (held, view)
            cols = view.columns
            prices = view.field(None, "underlying_price")
            for i, p in enumerate(held):
                if np.isfinite(prices[i]):
                    p.detail["underlying_price"] = float(prices[i])
                if np.isfinite(cols["pnl"][i]):
                    p.high_water_pnl = float(cols["high_water_pnl"][i])
                    p.last_mark = float(cols["mark"][i])
                    p.detail["pnl"] = round(float(cols["pnl"][i]), 2)
                self.marks[p.id] = {
                    "pnl": float(cols["pnl"][i]),
                    "close_credit": float(cols["credit"][i]),
                    "delta": float(cols["net_delta"][i]) * MULTIPLIER * p.quantity,
                    "vega": float(cols["net_vega"][i]) * MULTIPLIER * p.quantity,
                }
                self.journal.save_position(p)  # the high-water mark survives a restart

    async def monitor(self, compiled: Compiled, now, scalars, allowed: Gate) -> None:
        held, view = self.views.get(compiled.name, ([], None))
        if view is None:
            return
        program, graph = compiled.program, compiled.graph
        evaluator = Evaluator(graph, view)
        exits = {name: evaluator.mask(graph.values[f"exit:{name}"]) for name in program.exits}
        roll = evaluator.mask(graph.values["roll:when"]) if program.roll is not None else None
        self._count_checks(compiled, held, view, exits, roll)
        for i, p in enumerate(held):
            if p.status != "open":
                continue
            if not np.isfinite(view.columns["pnl"][i]):
                self.decide(now, compiled, "monitor", p.id, "unmarked", self._unquoted(p))
                continue
            fired = next((name for name, mask in exits.items() if mask[i]), None)
            if fired is not None:
                reason = _clause_reason(program.exits[fired], view, i)
                if not allowed.exits:
                    self.decide(
                        now, compiled, "exit", p.id, "held", f"{fired}: {reason}; {allowed.because}"
                    )
                    continue
                await self.close(p, now, f"{fired}: {reason}", float(view.columns["credit"][i]))
            elif roll is not None and roll[i]:
                reason = _clause_reason(program.roll, view, i)
                await self.roll(compiled, p, now, scalars, allowed, reason, view, i)

    def _count_checks(self, compiled: Compiled, held, view, exits, roll) -> None:
        pnl = view.columns["pnl"]
        judged = np.array([p.status == "open" and np.isfinite(pnl[i]) for i, p in enumerate(held)])
        masks = {f"exit {name}": mask for name, mask in exits.items()}
        if roll is not None:
            masks["roll.when"] = roll
        for clause, mask in masks.items():
            fired = int(np.count_nonzero(np.asarray(mask, bool) & judged))
            self.report.checks.add(compiled.program.file, clause, fired, int(judged.sum()) - fired)

    def _unquoted(self, p: Position) -> str:
        missing = [
            leg.symbol.strip()
            for leg in p.legs
            if self.index and self.index.row(leg.symbol, leg.kind) < 0
        ]
        return f"no quote for {', '.join(missing)}: exits not evaluated"

    async def close(self, p: Position, now, reason: str, credit: float | None) -> bool:
        if credit is None or not math.isfinite(credit):
            self.decide(
                now,
                self.compiled(p.strategy),
                "exit",
                p.id,
                "held",
                f"{reason}; no price to close at",
            )
            return False
        legs = self.intents(orders.order_legs(p.legs, Intent.CLOSE, closing=True), p.quantity)
        compiled = self.compiled(p.strategy)
        version = compiled.version if compiled else p.version
        req = orders.request(p.strategy, version, now, legs, p.quantity, credit, p.underlying)
        p.status, p.exit_key, p.exit_reason = "closing", req.client_key, reason
        self.journal.save_position(p)
        placed = await self.send(req, "exit", p.strategy, p.id, now)
        self.decide(
            now,
            compiled,
            "exit",
            p.id,
            "closing" if placed else "failed",
            reason,
            {"order": req.client_key},
        )
        if placed:
            self.report.exits += 1
        return placed

    async def roll(self, compiled, p: Position, now, scalars, allowed: Gate, why, view, i) -> None:
        program = compiled.program
        target, problem = None, allowed.because if not allowed.rolls else ""
        if allowed.rolls:
            target, problem = self._roll_target(
                compiled, p, scalars, float(view.columns["credit"][i])
            )
        if target is not None:
            record, net = target
            await self._send_roll(compiled, p, record, net, now, why)
            return
        pnl = float(view.columns["pnl"][i])
        for step in program.roll_fallback:
            if step == "close_if_profitable" and pnl > 0:
                await self.close(
                    p,
                    now,
                    f"roll fallback, closed at a profit ({problem})",
                    float(view.columns["credit"][i]),
                )
                return
            if step == "close":
                await self.close(
                    p, now, f"roll fallback, closed ({problem})", float(view.columns["credit"][i])
                )
                return
            if step == "alert":
                day = now.astimezone(NEW_YORK).date().isoformat()
                if p.detail.get("roll_alerted") != day:
                    p.detail["roll_alerted"] = day
                    self.journal.save_position(p)
                    self.alert(
                        now,
                        "roll",
                        f"{p.id} ({p.strategy}) needs a roll ({why}) but none was placed: "
                        f"{problem}",
                    )
                self.decide(now, compiled, "roll", p.id, "alerted", f"{why}; {problem}")
                return
        self.decide(now, compiled, "roll", p.id, "none", f"{why}; {problem}")

    def _roll_target(self, compiled, p: Position, scalars, close_credit: float):
        program, graph = compiled.program, compiled.graph
        result = scan(program, graph, self.market, scalars)
        records = candidate_records(result, program, self.market, CANDIDATES_EXAMINED * 4)
        held = {leg.symbol for leg in p.legs}
        for record in records:
            legs = orders.candidate_legs(record)
            expiries = [leg.expiry for leg in legs if leg.expiry]
            if not expiries or min(expiries) <= p.expiry or {leg.symbol for leg in legs} & held:
                continue
            net = close_credit + (record["credit"] or 0.0)
            if program.roll_credit_only and net < ROLL_MIN_CREDIT:
                continue
            return (record, net), ""
        what = "a later expiry passing the legs and entry rules"
        if program.roll_credit_only:
            what += " for a net credit"
        return None, f"no roll target: none of {len(records)} candidates is {what}"

    async def _send_roll(self, compiled, p: Position, record: dict, net: float, now, why) -> None:
        new_legs = orders.candidate_legs(record)
        legs = self.intents(
            orders.order_legs(p.legs, Intent.CLOSE, closing=True)
            + orders.order_legs(new_legs, Intent.OPEN),
            p.quantity,
        )
        req = orders.request(
            compiled.name, compiled.version, now, legs, p.quantity, net, p.underlying
        )
        child = Position(
            id=_position_id(req.client_key),
            strategy=compiled.name,
            version=compiled.version,
            underlying=p.underlying,
            legs=new_legs,
            opened_at=now,
            entry_key=req.client_key,
            ordered=p.quantity,
            entry_price=float(record["credit"] or 0.0),
            max_profit=float(record["max_profit"] or 0.0),
            max_loss=float(record["max_loss"] or 0.0),
            parent_id=p.id,
            root_id=p.root_id or p.id,
            roll_number=p.roll_number + 1,
            detail=_planned(record),
        )
        p.status, p.exit_key, p.exit_reason = "closing", req.client_key, f"roll: {why}"
        self.positions[child.id] = child
        self.journal.save_position(p)
        self.journal.save_position(child)
        placed = await self.send(req, "roll", compiled.name, p.id, now)
        reason = f"{why}; roll {child.roll_number} of {child.root_id} for a net {net:+.2f}"
        self.decide(
            now,
            compiled,
            "roll",
            p.id,
            "rolling" if placed else "failed",
            reason,
            {"into": child.id},
        )
        if placed:
            self.report.rolls += 1

    # ---------------------------------------------------------------- scan and enter
    async def scan_and_enter(self, compiled: Compiled, now, scalars, allowed: Gate) -> None:
        program, graph = compiled.program, compiled.graph
        subject = f"{compiled.name}@{now.isoformat()}"
        if not allowed.entries:
            self.decide(now, compiled, "scan", subject, "blocked", allowed.because)
            return
        if self.journal.sent_at(compiled.name, "entry", now):
            return  # a tick cut short by a crash already entered here; its decisions stand
        result = scan(program, graph, self.market, scalars)
        records = candidate_records(result, program, self.market, CANDIDATES_EXAMINED)
        funnel = [
            {"stage": f.stage, "clause": f.label, "in": f.rows_in, "out": f.rows_out}
            for f in result.funnel
        ]
        for f in result.funnel:
            clause = f"{f.stage} `{f.label}`"
            failed = max(f.rows_in - f.rows_out, 0)
            self.report.checks.add(program.file, clause, f.rows_out, failed)
        self.decide(
            now,
            compiled,
            "scan",
            subject,
            f"{len(result)} candidates",
            result.error
            or (f"missing data: {'; '.join(result.missing)}" if result.missing else "scanned"),
            {"funnel": funnel},
        )
        if not records:
            return
        top = result.selection.take(result.order[: len(records)])
        view, _ = structure_view(self.market, program, top, scalars)
        evaluator = Evaluator(graph, view)
        size_values = {
            key.removeprefix("size:"): np.broadcast_to(
                np.asarray(evaluator.value(node), float), (view.n,)
            )
            for key, node in graph.values.items()
            if key.startswith("size:")
        }
        stats = TradeStats.of(
            [
                p.realised_pnl
                for p in self.positions.values()
                if p.strategy == compiled.name
                and p.status == "closed"
                and p.realised_pnl is not None
            ]
        )
        for i, record in enumerate(records):
            values = {k: float(v[i]) for k, v in size_values.items()}
            entered = await self._try_entry(compiled, record, values, now, scalars, stats)
            if entered:
                break

    async def _try_entry(self, compiled, record, values, now, scalars, stats) -> bool:
        legs = orders.candidate_legs(record)
        subject = "c-" + stable_id(compiled.name, *(leg.symbol for leg in legs))[:10]
        outcome, reason, detail = "rejected", "", {"candidate": record}
        problem = self._dirty(legs, now) or self._duplicate(compiled.name, legs)
        size = None
        if problem is None:
            max_loss = float(record["max_loss"] or float("nan"))
            size = size_trade(compiled.program, values, max_loss, max_loss, scalars, stats)
            detail["size"] = size.reason
            if size.contracts <= 0:
                problem = f"sizing: {size.reason}"
        if problem is None:
            problem = self._limits(compiled, record, legs, size.contracts, scalars, now)
        if problem is None:
            outcome, problem = await self._enter(
                compiled, record, legs, size.contracts, now, detail
            )
        reason = problem or f"{size.contracts} x at {record['credit']:+.2f} ({size.reason})"
        self.decide(now, compiled, "candidate", subject, outcome, reason, detail)
        return outcome == "entered"

    def _dirty(self, legs, now) -> str | None:
        """Data safety: NaN, crossed, zero-bid or stale quotes never become an entry."""
        chain, index = self.market, self.index
        age = (now - self.as_of).total_seconds() if self.as_of else 0.0
        session = self.sessions.current(now)
        today = now.astimezone(NEW_YORK).date().isoformat()
        for leg in legs:
            if leg.kind == "stock":
                continue
            if session is not None and leg.expiry == today and now >= session.close:
                return f"session: {leg.name} expires today and stopped trading at the close"
            row = index.row(leg.symbol, leg.kind)
            if row < 0:
                return f"data: {leg.name} {leg.symbol.strip()} is not in the snapshot"
            bid, ask = float(chain.column("bid")[row]), float(chain.column("ask")[row])
            quote_age = float(chain.column("quote_age")[row]) + age
            if not (math.isfinite(bid) and math.isfinite(ask)):
                return f"data: {leg.name} has no two-sided quote (bid {bid}, ask {ask})"
            if bid > ask:
                return f"data: {leg.name} market is crossed (bid {bid:.2f} > ask {ask:.2f})"
            if bid <= 0:
                return f"data: {leg.name} has a zero bid (ask {ask:.2f}): no market to trade"
            if quote_age > self.max_quote_age:
                limit = self.max_quote_age
                return f"data: {leg.name} quote is {quote_age:.0f}s old (limit {limit:.0f}s)"
        return None

    def _duplicate(self, strategy: str, legs) -> str | None:
        symbols = sorted(leg.symbol for leg in legs)
        for p in self.open_positions(strategy):
            if sorted(leg.symbol for leg in p.legs) == symbols:
                return f"already held as {p.id}"
        return None

    def _limits(self, compiled, record, legs, contracts, scalars, now) -> str | None:
        expiries = [leg.expiry for leg in legs if leg.expiry]
        max_loss = float(record["max_loss"] or 0.0) * contracts
        proposal = Proposal(
            compiled.name,
            self._underlying(legs),
            min(expiries) if expiries else "",
            max_loss,
            max_loss,
            float(record["net_delta"] or 0.0) * MULTIPLIER * contracts,
            0.0,
        )
        held = self.open_positions() + [p for p in self.positions.values() if p.status == "opening"]
        today = now.astimezone(NEW_YORK).date()
        opened_today = sum(
            1
            for p in self.positions.values()
            if p.strategy == compiled.name
            and p.opened_at.astimezone(NEW_YORK).date() == today
            and p.roll_number == 0
        )
        sources = [("strategy", compiled)] + [("portfolio", c) for c in self.rules.portfolios]
        sectors = {k: v for c in self.rules.portfolios for k, v in c.program.sectors.items()}
        for scope, source in sources:
            limits = _limit_values(source, scalars)
            problem = limit_problem(limits, scope, proposal, held, scalars, opened_today, sectors)
            if problem:
                where = "" if scope == "strategy" else f" ({source.name})"
                return f"limit{where}: {problem}"
        return None

    def _underlying(self, legs) -> str:
        for leg in legs:
            if leg.kind == "stock":
                return leg.symbol
            row = self.index.row(leg.symbol, leg.kind)
            if row >= 0:
                return str(self.market.column("underlying_symbol")[row])
        return ""

    async def _enter(
        self, compiled, record, legs, contracts, now, detail
    ) -> tuple[str, str | None]:
        order_legs = self.intents(orders.order_legs(legs, Intent.OPEN), contracts)
        credit = float(record["credit"] or 0.0)
        req = orders.request(
            compiled.name,
            compiled.version,
            now,
            order_legs,
            contracts,
            credit,
            self._underlying(legs),
        )
        try:
            preview = await self.broker.preview(req)
        except NotSupported:  # Alpaca has no preview: its own checks at placement decide
            preview = None
        except BrokerError as error:
            self.broker_failed(now, "preview", error)
            return "rejected", f"preview failed: {error}"
        if preview is not None and not preview.accepted:
            return "rejected", f"preview: {'; '.join(preview.errors)}"
        position = Position(
            id=_position_id(req.client_key),
            strategy=compiled.name,
            version=compiled.version,
            underlying=req.underlying,
            legs=legs,
            opened_at=now,
            entry_key=req.client_key,
            ordered=contracts,
            entry_price=credit,
            max_profit=float(record["max_profit"] or 0.0),
            max_loss=float(record["max_loss"] or 0.0),
            root_id=None,
            detail={**_planned(record), "rank": record["rank"]},
        )
        self.positions[position.id] = position
        self.journal.save_position(position)
        placed = await self.send(req, "entry", compiled.name, position.id, now)
        detail["order"] = req.client_key
        detail["position"] = position.id
        if not placed:
            position.status = "unfilled"
            self.journal.save_position(position)
            row = self.journal.order(req.client_key)
            return "rejected", f"order: {row['reason'] if row else 'not sent'}"
        self.report.entries += 1
        return "entered", None

    # ---------------------------------------------------------------- orders
    async def send(
        self, req: OrderRequest, purpose: str, strategy: str, position_id: str, now
    ) -> bool:
        """Commit the intent, then place. True when the broker has (or may have) the order."""
        row = {
            "key": req.client_key,
            "broker_id": None,
            "strategy": strategy,
            "position_id": position_id,
            "purpose": purpose,
            "status": "pending",
            "quantity": req.quantity,
            "filled": 0,
            "average_price": None,
            "limit_price": str(req.limit_price),
            "effect": str(req.effect),
            "legs": "; ".join(
                f"{leg.ratio:+d} {leg.symbol.strip()} {leg.intent}" for leg in req.legs
            ),
            "reason": None,
            "created_at": now.isoformat(),
            "updated_at": now.isoformat(),
        }
        existing = self.journal.order(req.client_key)
        if existing is not None and existing["status"] not in {"pending", "not_sent"}:
            return existing["status"] != "rejected"  # the broker has had this decision
        self.journal.save_order(row)
        self.journal.commit()  # the intent is durable before the broker hears of it
        try:
            order = await self.broker.place(req)
        except OrderRejected as error:
            self.journal.save_order({**row, "status": "rejected", "reason": str(error)})
            self.journal.commit()
            return False
        except BrokerError as error:
            self.broker_failed(now, "place", error)
            self.journal.save_order({**row, "status": "unknown", "reason": str(error)})
            self.journal.commit()
            return True  # found by key at the next sync, never sent twice
        self.broker_errors = 0
        await self._apply(self.journal.order(req.client_key), order, now)
        self.journal.commit()
        return True

    async def sync_orders(self) -> None:
        """Bring every live order up to date with the broker (fills, expiries, cancels)."""
        now = self.clock.now()
        for row in self.journal.orders(LIVE_STATUSES):
            try:
                if row["broker_id"]:
                    order = await self.broker.order(row["broker_id"])
                else:
                    order = await self.broker.find_order(row["key"])
            except NotFound:
                order = None
            except BrokerError as error:
                self.broker_failed(now, "order status", error)
                continue
            if order is None:
                self._never_sent(row, now)
                continue
            await self._apply(row, order, now)
        self.journal.commit()

    def _never_sent(self, row, now) -> None:
        self.journal.save_order(
            {
                **dict(row),
                "status": "not_sent",
                "reason": "the broker has no order with this key",
                "updated_at": now.isoformat(),
            }
        )
        p = self.positions.get(row["position_id"])
        if p is None:
            return
        if row["purpose"] == "entry" and p.status == "opening":
            p.status = "unfilled"
        elif p.exit_key == row["key"]:
            p.status, p.exit_key = "open", None
            for child in self.positions.values():
                if child.entry_key == row["key"] and child.status == "opening":
                    child.status = "unfilled"
                    self.journal.save_position(child)
        self.journal.save_position(p)

    async def _apply(self, row, order: Order, now) -> None:
        status = "replaced" if order.status is OrderStatus.REPLACED else str(order.status)
        broker_id = order.replaced_by if order.status is OrderStatus.REPLACED else order.id
        if order.status is OrderStatus.REPLACED:
            status = "working"  # follow the replacement from now on
        for n, fill in enumerate(order.fills):
            fill_id = fill.fill_id or stable_id(order.id, n, fill.symbol, fill.time.isoformat())
            self.journal.add_fill(
                fill_id, row["key"], fill.symbol, fill.quantity, fill.price, fill.fees, fill.time
            )
        self.journal.save_order(
            {
                **dict(row),
                "broker_id": broker_id,
                "status": status,
                "filled": order.filled_quantity,
                "average_price": str(order.average_price)
                if order.average_price is not None
                else None,
                "reason": order.reason or row["reason"],
                "updated_at": now.isoformat(),
            }
        )
        if order.status is OrderStatus.REPLACED:
            return
        if row["purpose"] == "entry":
            self._entry_progress(row["key"], order, now)
        elif row["purpose"] == "exit":
            self._exit_progress(row["key"], order, now)
        elif row["purpose"] == "roll":
            self._exit_progress(row["key"], order, now)
            self._entry_progress(row["key"], order, now)

    def _entry_progress(self, key: str, order: Order, now) -> None:
        p = next((p for p in self.positions.values() if p.entry_key == key), None)
        if p is None or p.status not in {"opening", "open"}:
            return
        units = order.filled_quantity
        if units > 0:
            symbols = {leg.symbol for leg in p.legs}
            price = orders.net_credit(order.fills, symbols, units)
            better = price - float(p.detail.get("planned_credit") or 0.0)  # vs the mid planned
            p.max_profit = float(p.detail.get("planned_max_profit", 0.0)) + better * MULTIPLIER
            p.max_loss = float(p.detail.get("planned_max_loss", 0.0)) - better * MULTIPLIER
            p.entry_price, p.quantity = price, units
            p.fees = sum(float(f.fees) for f in order.fills if f.symbol in symbols)
        if units >= p.ordered and units > 0:
            p.status = "open"
        elif order.status.is_final:
            p.status = "open" if units > 0 else "unfilled"
        self.journal.save_position(p)

    def _exit_progress(self, key: str, order: Order, now) -> None:
        p = next((p for p in self.positions.values() if p.exit_key == key), None)
        if p is None or p.status != "closing":
            return
        symbols = {leg.symbol for leg in p.legs}
        units = order.filled_quantity
        if units >= p.quantity and units > 0:
            exit_credit = orders.net_credit(order.fills, symbols, units)
            fees = sum(float(f.fees) for f in order.fills if f.symbol in symbols)
            p.realised_pnl = (p.entry_price + exit_credit) * MULTIPLIER * p.quantity - p.fees - fees
            p.fees += fees
            p.status, p.closed_at = "closed", order.updated or now
            self.decide(
                now,
                self.compiled(p.strategy),
                "closed",
                p.id,
                "closed",
                f"{p.exit_reason}; realised {p.realised_pnl:+,.2f}",
            )
        elif order.status.is_final:
            if units > 0:  # part closed: keep the rest open, book what was closed
                exit_credit = orders.net_credit(order.fills, symbols, units)
                booked = (p.entry_price + exit_credit) * MULTIPLIER * units
                p.detail["realised_part"] = p.detail.get("realised_part", 0.0) + booked
                p.quantity -= units
            p.status, p.exit_key = "open", None
            for child in self.positions.values():
                if child.entry_key == key and child.status == "opening" and units == 0:
                    child.status = "unfilled"
                    self.journal.save_position(child)
        self.journal.save_position(p)

    # ---------------------------------------------------------------- expiry
    def settle_expired(self, now: datetime) -> None:
        """Positions whose every option leg has expired are settled by the broker: book them
        closed at their intrinsic value from the last underlying price seen."""
        today = now.astimezone(NEW_YORK).date().isoformat()
        for p in self.open_positions():
            option_legs = [leg for leg in p.legs if leg.expiry]
            if not option_legs or max(leg.expiry for leg in option_legs) >= today:
                continue
            price = p.detail.get("underlying_price")
            value = _intrinsic_credit(p, price) if price is not None else 0.0
            p.realised_pnl = (p.entry_price + value) * MULTIPLIER * p.quantity - p.fees
            p.status, p.closed_at, p.exit_reason = "closed", now, "expired"
            self.journal.save_position(p)
            self.decide(
                now,
                self.compiled(p.strategy),
                "closed",
                p.id,
                "expired",
                f"settled at expiry {p.expiry}; realised {p.realised_pnl:+,.2f}",
            )


def _intrinsic_credit(p: Position, price: float) -> float:
    total = 0.0
    for leg in p.legs:
        if leg.kind == "put":
            total += leg.ratio * max(leg.strike - price, 0.0)
        elif leg.kind == "call":
            total += leg.ratio * max(price - leg.strike, 0.0)
    return total


def _planned(record: dict) -> dict:
    return {
        "planned_credit": float(record["credit"] or 0.0),
        "planned_max_profit": float(record["max_profit"] or 0.0),
        "planned_max_loss": float(record["max_loss"] or 0.0),
    }


def _position_id(key: str) -> str:
    return "p-" + stable_id(key)[:8]


def _limit_values(compiled: Compiled, scalars) -> dict[str, float]:
    values: dict[str, float] = {}
    view = None
    for key, value in compiled.program.limits.items():
        if isinstance(value, int):
            values[key] = value
            continue
        if view is None:
            view = Evaluator(compiled.graph, ScalarView(scalars))
        values[key] = float(
            np.asarray(view.value(compiled.graph.values[f"limits:{key}"])).reshape(-1)[0]
        )
    return values


def _clause_reason(checked: Checked, view: PositionView, i: int) -> str:
    """`pnl >= 50% of max_profit (pnl = 312.5, max_profit = 625)` for position row i."""
    refs = {}
    for node in ast.walk(checked.node):
        if isinstance(node, FieldRef) and node.field is not None:
            label = f"{node.leg}.{node.field.name}" if node.leg else node.field.name
            value = view.field(node.leg, node.field.name)
            refs[label] = np.asarray(value).reshape(-1)[i] if np.ndim(value) else value
    shown = ", ".join(f"{k} = {_fmt(v)}" for k, v in sorted(refs.items()))
    return f"{checked.text} ({shown})" if shown else checked.text


def _fmt(value) -> str:
    try:
        return f"{float(value):,.4g}"
    except (TypeError, ValueError):
        return str(value)
