"""The engine: one `tick` per market snapshot. The order of the steps is all here:

    sync orders            the desk brings fills, cancels and expiries in from the broker
    settle expiries        the book closes expired positions at the settlement price
    mark                   every held position, from quotes or (saying so) from the model
    account scalars        from the broker's account after this tick's marks; each strategy's
                           own P&L and exposure beside the account's
    breakers               from the first tick on, each on its own scope
    per strategy           its held positions (engine.held: retries, locks enforced,
                           roll-overs, exits and rolls where the monitor is due, hedges,
                           protective stops), then entries where the scan is due (limits
                           count what this tick already decided)

The parts: `PositionBook` (positions, lifecycle, marks, settlement), `OrderDesk` (the broker,
orders and fills), `Entries` and `Exits` (the pipelines), `Recorder` (decisions, alerts, the
tick report) and `TickContext` (the numbers one tick reads).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import Decimal
from pathlib import Path

from brokers.errors import BrokerError
from brokers.model import Account
from brokers.protocol import Broker
from rulesengine.data.chain import Chain
from rulesengine.data.sanity import QuoteHistory
from rulesengine.engine import account as acct
from rulesengine.engine.book import PositionBook
from rulesengine.engine.breakers import KILL_SCOPE, gate, kill_lock, trips
from rulesengine.engine.clock import Clock
from rulesengine.engine.context import TickContext
from rulesengine.engine.desk import LIVE_STATUSES, OrderDesk
from rulesengine.engine.entries import DEFAULT_MAX_QUOTE_AGE, Entries
from rulesengine.engine.exits import Exits
from rulesengine.engine.held import HeldPositions
from rulesengine.engine.holdings import holding_scalars
from rulesengine.engine.journal import Journal, Lock
from rulesengine.engine.marks import SymbolIndex
from rulesengine.engine.policy import OrderPolicy, policy_for
from rulesengine.engine.positions import Position
from rulesengine.engine.record import Recorder, TickReport
from rulesengine.engine.ruleset import Compiled, RuleSet
from rulesengine.engine.schedules import Scheduler
from rulesengine.engine.sessions import Sessions
from rulesengine.engine.settled import Settled
from rulesengine.notify.events import Routes
from rulesengine.notify.notices import Notices, channels_of
from rulesengine.notify.outbox import Outbox

__all__ = ["LIVE_STATUSES", "Engine", "TickReport"]


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
        model_marks: Callable[[dict[str, Decimal]], None] | None = None,
        notify: bool = False,
    ):
        """`notify`: queue the `notify:` channels' events in the journal's outbox (`rules
        run`; a backtest or a scenario notifies no one)."""
        self.rules = rules
        self.journal = journal
        self.clock = clock
        self.data_dir = data_dir
        self.sessions = sessions or Sessions()
        self.scheduler = Scheduler(self.sessions)
        self.retired: dict[str, Compiled] = {}  # strategies removed by a reload, still held
        self.recorder = Recorder(journal, say)
        if notify:
            self.recorder.notices = Notices(Outbox(journal.db), _routes(rules))
        self.book = PositionBook(journal)
        self.quote_history = QuoteHistory()
        self.desk = OrderDesk(broker, journal, self.book, self.recorder, self.compiled)
        self.entries = Entries(self.book, self.desk, self.recorder)
        self.entries.max_quote_age = max_quote_age
        self.exits = Exits(self.book, self.desk, self.recorder)
        self.entries.policy = self.exits.policy = self.policy  # the rules' `order:` sections
        self.desk.policy = self.policy
        self.held = HeldPositions(self.book, self.desk, self.recorder, self.exits, self.policy)
        self.model_marks = model_marks  # where model values go (the paper account's net liq)
        self.context: TickContext | None = None
        self.broker_down = False  # this tick's account read failed
        self.last_account: dict[str, float] | None = None
        self.ran: list[str] = []  # schedules run this tick, recorded when the tick completes
        self.scan_now: set[str] = set()  # strategies asked to scan at the next tick (the API)
        self.settled = Settled(
            self.recorder, self.compiled, lambda: self.rules, self.clock.now, self.scan_now
        )

    # ------------------------------------------------------------ rules
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
        if self.recorder.notices is not None:
            self.recorder.notices.routes = _routes(rules)
        self.record_rules(self.clock.now())

    def policy(self, strategy: str) -> OrderPolicy:
        return policy_for(self.rules, self.compiled(strategy))

    def compiled(self, strategy: str) -> Compiled | None:
        return self.rules.strategies.get(strategy) or self.retired.get(strategy)

    # ------------------------------------------------------------ the tick
    async def tick(self, chain: Chain, as_of: datetime | None = None) -> TickReport:
        now = self.clock.now()
        report = self.recorder.start(now)
        self.ran = []
        await self.desk.sync(now)
        self.screen(chain)
        self.book.see_market(chain, now)
        self.book.settle_expired(now, self.settled, self.rules.holdings_group)
        index = SymbolIndex(chain)
        self._mark(chain, index, now)
        for p, why in self.book.rejected_quotes(chain):
            compiled = self.compiled(p.strategy)
            self.recorder.decide(now, compiled, "mark", p.id, "quote_rejected", why)
        account = await self._account(now)
        self.broker_down = account is None
        context = self._context(now, as_of or now, chain, index, account)
        self.context = context
        await self._breakers(context)
        if account is None:  # no account: breakers saw the errors; nothing else runs
            self.journal.commit()
            return report
        locks = self.journal.locks()
        for name, compiled in [*self.rules.strategies.items(), *self.retired.items()]:
            allowed = gate(locks, name, now)
            await self.held.tick(context, compiled, allowed, self._due(compiled, "monitor", now))
        for name, compiled in self.rules.strategies.items():
            if self._due(compiled, "scan", now):
                allowed = gate(locks, name, now)
                await self.entries.scan_and_enter(context, self.rules, compiled, allowed)
                await self.held.after_entries(context, compiled)
        self._finish(now, context)
        return report

    def _finish(self, now: datetime, context: TickContext) -> None:
        for key in self.ran:  # only a finished tick counts as run: a crash re-runs it whole
            self.journal.put(key, now.isoformat())
        for name in {p.strategy for p in self.book.positions.values()}:
            acct.remember_strategy_pnl(self.journal, name, acct.strategy_pnl(self.book, name))
        self._snapshot(now, context.account)
        self.journal.put("last_tick", now.isoformat())
        self.journal.commit()

    async def close_of_work(self) -> None:
        """After the tick's orders have worked (a replay's walk toward natural): sync, mark
        again and snapshot the account, so the day's last snapshot includes what filled and
        its fees (equity curves and `equity.csv` read it)."""
        context = self.context
        if context is None or self.broker_down:
            return  # the tick could not read the account: the broker is not asked again
        now = self.clock.now()
        await self.desk.sync(now)
        self._mark(context.market, context.index, now)
        account = await self._account(now)
        if account is None:
            return
        self._snapshot(now, self._account_values(now, context.as_of, context.market, account))
        self.journal.commit()

    def screen(self, chain: Chain) -> None:
        """Quote sanity against each contract's history (once per snapshot; see data.sanity).
        A replay screens before feeding the paper account, so it never fills a bad quote."""
        chain.screen(self.quote_history)

    def _mark(self, chain: Chain, index: SymbolIndex, now: datetime) -> None:
        """Mark every held position; model values go to the account (the paper net liq)."""
        self.book.mark(chain, index, now)
        if self.model_marks is not None:
            values = self.book.model_values().items()
            self.model_marks({s: Decimal(str(round(v, 4))) for s, v in values})

    def _snapshot(self, now: datetime, values: Mapping[str, float]) -> None:
        self.journal.snapshot(now, {k: v for k, v in values.items() if math.isfinite(v)})

    def _due(self, compiled: Compiled, kind: str, now: datetime) -> bool:
        key = f"schedule:{compiled.name}:{kind}"
        last_text = self.journal.get(key)
        last = datetime.fromisoformat(last_text) if last_text else None
        if last is not None and last >= now:
            return False
        asked = kind == "scan" and compiled.name in self.scan_now
        if asked:
            self.scan_now.discard(compiled.name)
        due = asked or self.scheduler.due(compiled.program.schedules.get(kind), last, now)
        if due:
            self.ran.append(key)
        return due

    # ------------------------------------------------------------ account
    async def _account(self, now: datetime) -> Account | None:
        try:
            found = await self.broker.account()
        except BrokerError as error:
            self.desk.failed(now, "account", error)
            return None
        self.desk.succeeded()
        return found

    def _context(
        self,
        now: datetime,
        as_of: datetime,
        chain: Chain,
        index: SymbolIndex,
        account: Account | None,
    ) -> TickContext:
        values = self._account_values(now, as_of, chain, account)
        positions = self.book.positions.values()
        scoped = {
            name: {
                **acct.strategy_scalars(values, name, self.book, self.journal, now),
                **holding_scalars(positions, self.rules.holdings_group(name)),
            }
            for name in [*self.rules.strategies, *self.retired]
        }
        return TickContext(now, as_of, chain, index, values, scoped, self.sessions)

    def _account_values(
        self, now: datetime, as_of: datetime, chain: Chain | None, account: Account | None
    ) -> dict[str, float]:
        """The account's scalars; without an account (the broker failed), the last ones known
        with this tick's broker health, market and time, so breakers still see the errors."""
        health = getattr(self.broker, "health", None)
        recent = getattr(health, "recent_rate_limits", None)
        base = {
            "broker_errors": float(self.desk.broker_errors),
            "rate_limited": float(recent()) if callable(recent) else 0.0,
            "data_age": max(0.0, (now - as_of).total_seconds()),
            "vix": acct.vix(chain, now),
            **acct.time_scalars(now, self.sessions),
        }
        if account is None:
            return {**(self.last_account or {}), **base}
        net_liq = float(account.net_liquidation)
        in_use = max(net_liq - float(account.buying_power), 0.0)
        held = acct.exposure(self.book, None, now, in_use)
        values = {**acct.account_scalars(account, self.book, self.journal, now, held), **base}
        values.update(acct.ledger(self.book))  # for equity.csv; no rule reads these
        self.last_account = values
        return values

    async def scalars(self, now: datetime) -> dict[str, float] | None:
        """The account's scalars now, as the last tick's snapshot saw the market (for tools
        and tests: a tick builds its own context)."""
        account = await self._account(now)
        if account is None:
            return None
        context = self.context
        as_of = context.as_of if context is not None else now
        return self._account_values(now, as_of, context.market if context else None, account)

    # ------------------------------------------------------------ breakers
    async def _breakers(self, context: TickContext) -> None:
        now = context.now
        locks = self.journal.locks()
        kill_file = self.data_dir / "KILL"
        if kill_file.exists() and not any(
            lock.scope == KILL_SCOPE and lock.active(now) for lock in locks
        ):
            reason = kill_file.read_text(errors="replace").strip() or "kill switch file present"
            locks.append(self._trip(kill_lock(now, f"{kill_file.name}: {reason}")))
        tally = self.recorder.report.checks
        for lock in trips(self.rules.every(), context.scalars, locks, now, self.sessions, tally):
            self._trip(lock)

    def _trip(self, lock: Lock) -> Lock:
        self.journal.save_lock(lock)
        until = lock.until.isoformat() if lock.until else "lifted by hand (`rules unlock`)"
        self.recorder.report.trips.append(f"{lock.scope}.{lock.name} -> {lock.action}")
        compiled = self.compiled(lock.scope)
        subject = f"{lock.scope}.{lock.name}"
        self.recorder.decide(
            lock.started_at,
            compiled,
            "breaker",
            subject,
            lock.action,
            lock.reason,
            {"until": until},
        )
        self.recorder.alert(
            lock.started_at,
            "breaker",
            f"{lock.scope}.{lock.name} tripped -> {lock.action} until {until}: {lock.reason}",
            "critical" if lock.action in {"halt", "close_all"} else "warning",
        )
        return lock

    # ------------------------------------------------------------ for tools, tests, the CLI
    @property
    def broker(self) -> Broker:
        return self.desk.broker

    @broker.setter
    def broker(self, broker: Broker) -> None:  # a scenario's outage swaps it between ticks
        self.desk.broker = broker

    @property
    def market(self) -> Chain | None:
        return self.context.market if self.context is not None else None

    @property
    def positions(self) -> dict[str, Position]:
        return self.book.positions

    @property
    def report(self) -> TickReport:
        return self.recorder.report

    @property
    def max_quote_age(self) -> float:
        return self.entries.max_quote_age

    @max_quote_age.setter
    def max_quote_age(self, seconds: float) -> None:
        self.entries.max_quote_age = seconds

    def open_positions(self, strategy: str | None = None) -> list[Position]:
        return self.book.open_positions(strategy)

    def alert(self, now: datetime, level: str, message: str, severity: str | None = None) -> None:
        self.recorder.alert(now, level, message, severity)

    def broker_failed(self, now: datetime, what: str, error: BrokerError) -> None:
        self.desk.failed(now, what, error)

    async def sync_orders(self) -> None:
        await self.desk.sync(self.clock.now())


def _routes(rules: RuleSet) -> Routes:
    return Routes.of(channels_of(c.program for c in rules.portfolios))
