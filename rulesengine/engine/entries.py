"""The entry pipeline: scan, rank, then for each of the best candidates in turn
data safety -> duplicate -> session -> size -> limits (strategy, then every portfolio file) ->
broker preview -> place. The first candidate that is placed ends the scan."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from brokers.errors import BrokerError, NotSupported
from brokers.model import Intent, OrderRequest
from rulesengine.engine import account, orders, retries
from rulesengine.engine.book import PositionBook
from rulesengine.engine.breakers import Gate
from rulesengine.engine.clock import NEW_YORK
from rulesengine.engine.context import TickContext
from rulesengine.engine.desk import OrderDesk, position_id
from rulesengine.engine.holdings import take_cover
from rulesengine.engine.journal import stable_id
from rulesengine.engine.limits import Proposal, limit_problem
from rulesengine.engine.marks import MULTIPLIER, ScalarView
from rulesengine.engine.policy import OrderPolicy
from rulesengine.engine.positions import Position, PositionLeg, Status
from rulesengine.engine.pricing import priced_request
from rulesengine.engine.record import Recorder
from rulesengine.engine.ruleset import Compiled, RuleSet
from rulesengine.engine.sizing import TradeStats, cap_by_portfolio, size_trade
from rulesengine.runtime.evaluate import Evaluator
from rulesengine.strategies.scan import candidate_records, scan, structure_view

CANDIDATES_EXAMINED = 5  # ranked candidates tried per scan before giving up
DEFAULT_MAX_QUOTE_AGE = 60.0  # seconds


class Entries:
    def __init__(self, book: PositionBook, desk: OrderDesk, recorder: Recorder):
        self.book = book
        self.desk = desk
        self.recorder = recorder
        self.max_quote_age = DEFAULT_MAX_QUOTE_AGE
        self.policy: Callable[[str], OrderPolicy] = lambda strategy: OrderPolicy()

    async def scan_and_enter(
        self, ctx: TickContext, rules: RuleSet, compiled: Compiled, allowed: Gate
    ) -> None:
        program, graph, now = compiled.program, compiled.graph, ctx.now
        subject = f"{compiled.name}@{now.isoformat()}"
        if not allowed.entries:
            self.recorder.decide(now, compiled, "scan", subject, "blocked", allowed.because)
            return
        cooling = self._cooling_down(compiled, ctx)
        if cooling is not None:
            self.recorder.decide(now, compiled, "scan", subject, "blocked", cooling)
            return
        # a tick cut short by a crash already entered here: its entries stand and count
        per_scan = program.limits.get("max_entries_per_scan", 1)
        assert isinstance(per_scan, int), "a count limit is a number"
        room = per_scan - self.desk.journal.sent_at(compiled.name, "entry", now)
        if room <= 0:
            return
        scalars = dict(ctx.scalars(compiled.name))
        result = scan(program, graph, ctx.market, scalars)
        records = candidate_records(result, program, ctx.market, CANDIDATES_EXAMINED)
        self._record_scan(compiled, now, subject, result)
        if not records:
            return
        top = result.selection.take(result.order[: len(records)])
        view, _ = structure_view(ctx.market, program, top, scalars)
        evaluator = Evaluator(graph, view)
        size_values = {
            key.removeprefix("size:"): np.broadcast_to(
                np.asarray(evaluator.value(node), float), (view.n,)
            )
            for key, node in graph.values.items()
            if key.startswith("size:")
        }
        stats = TradeStats.of(
            [p.realised_pnl for p in self.book.closed(compiled.name) if p.realised_pnl is not None]
        )
        for i, record in enumerate(records):
            values = {k: float(v[i]) for k, v in size_values.items()}
            if await self._try_entry(ctx, rules, compiled, record, values, stats):
                room -= 1
                if room == 0:
                    break

    def _record_scan(self, compiled: Compiled, now: datetime, subject: str, result) -> None:
        funnel = [
            {"stage": f.stage, "clause": f.label, "in": f.rows_in, "out": f.rows_out}
            | ({"near": f.near} if f.near else {})
            for f in result.funnel
        ]
        for f in result.funnel:
            failed = max(f.rows_in - f.rows_out, 0)
            self.recorder.report.checks.add(
                compiled.program.file, f"{f.stage} `{f.label}`", f.rows_out, failed
            )
        missing = f"missing data: {'; '.join(result.missing)}" if result.missing else "scanned"
        if result.missing:
            self.recorder.report.missing[compiled.name] = sorted(result.missing)
        self.recorder.decide(
            now,
            compiled,
            "scan",
            subject,
            f"{len(result)} candidates",
            result.error or missing,
            {"funnel": funnel},
        )

    async def _try_entry(
        self,
        ctx: TickContext,
        rules: RuleSet,
        compiled: Compiled,
        record: dict,
        values: dict[str, float],
        stats: TradeStats,
    ) -> bool:
        legs = orders.candidate_legs(record)
        subject = "c-" + stable_id(compiled.name, *(leg.symbol for leg in legs))[:10]
        outcome = "rejected"
        detail: dict[str, Any] = {"candidate": record}
        problem = (
            self._closed_market(ctx, legs)
            or self._dirty(ctx, legs)
            or self._duplicate(compiled.name, legs)
        )
        contracts = 0
        if problem is None:
            max_loss = float(record["max_loss"] or float("nan"))
            scalars = dict(ctx.scalars(compiled.name))
            size = size_trade(compiled.program, values, max_loss, max_loss, scalars, stats)
            for portfolio in rules.portfolios:
                if portfolio.program.size:
                    desk = section_values(portfolio, "size", ctx.account)
                    size = cap_by_portfolio(
                        size, portfolio.name, portfolio.program, desk, max_loss, dict(ctx.account)
                    )
            detail["size"] = size.reason
            contracts = size.contracts
            if contracts <= 0:
                problem = f"sizing: {size.reason}"
        if problem is None:
            problem = self._limits(ctx, rules, compiled, record, legs, contracts)
        if problem is None:
            outcome, problem = await self._enter(
                ctx, compiled, subject, record, legs, contracts, detail
            )
        reason = problem or _entered(record, contracts, detail)
        self.recorder.decide(ctx.now, compiled, "candidate", subject, outcome, reason, detail)
        return outcome in {"entered", "retrying"}  # a retry waiting holds its place

    def _dirty(self, ctx: TickContext, legs: list[PositionLeg]) -> str | None:
        """Data safety: NaN, crossed, zero-bid or stale quotes never become an entry."""
        chain, index, now = ctx.market, ctx.index, ctx.now
        session = ctx.sessions.current(now)
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
            quote_age = float(chain.column("quote_age")[row]) + ctx.data_age
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

    def _closed_market(self, ctx: TickContext, legs: list[PositionLeg]) -> str | None:
        underlying = underlying_of(ctx, legs)
        closed = ctx.sessions.closed_reason(underlying, ctx.now)
        return f"session: market closed for {underlying} ({closed})" if closed else None

    def _duplicate(self, strategy: str, legs: list[PositionLeg]) -> str | None:
        """The same legs already held, or already being entered: an entry order still
        working (or whose send is unconfirmed) is not stacked with a second one."""
        symbols = sorted(leg.symbol for leg in legs)
        for p in self.book.open_positions(strategy):
            if sorted(leg.symbol for leg in p.legs) == symbols:
                return f"already held as {p.id}"
        for p in self.book.positions.values():
            entering = p.strategy == strategy and p.status is Status.OPENING
            if entering and sorted(leg.symbol for leg in p.legs) == symbols:
                return f"already being entered as {p.id} (order {p.entry_key})"
        return None

    def _cooling_down(self, compiled: Compiled, ctx: TickContext) -> str | None:
        """`reentry_cooldown`: why entries wait after a losing close (None: they need not)."""
        if "reentry_cooldown" not in compiled.program.limits:
            return None
        seconds = limit_values(compiled, ctx.scalars(compiled.name))["reentry_cooldown"]
        losses = [
            p
            for p in self.book.closed(compiled.name)
            if (p.realised_pnl or 0.0) < 0 and p.closed_at
        ]
        if not losses:
            return None
        last = max(losses, key=lambda p: p.closed_at or ctx.now)
        assert last.closed_at is not None
        until = last.closed_at + timedelta(seconds=seconds)
        if ctx.now >= until:
            return None
        return (
            f"reentry_cooldown: {last.id} closed at a loss ({last.realised_pnl:+,.2f}) at "
            f"{last.closed_at.isoformat(timespec='minutes')}; entries again from "
            f"{until.isoformat(timespec='minutes')}"
        )

    def _limits(
        self,
        ctx: TickContext,
        rules: RuleSet,
        compiled: Compiled,
        record: dict,
        legs: list[PositionLeg],
        contracts: int,
    ) -> str | None:
        expiries = [leg.expiry for leg in legs if leg.expiry]
        max_loss = float(record["max_loss"] or 0.0) * contracts
        free = account.free_shares(self.book) if math.isinf(max_loss) else {}
        if free and take_cover(legs, underlying_of(ctx, legs), contracts, free):
            max_loss = 0.0  # a call the account's shares cover: not risk it carries
        proposal = Proposal(
            compiled.name,
            underlying_of(ctx, legs),
            min(expiries) if expiries else "",
            max_loss,
            max_loss,
            float(record["net_delta"] or 0.0) * MULTIPLIER * contracts,
            float(record.get("net_vega") or 0.0) * MULTIPLIER * contracts,
        )
        net_liq = ctx.account.get("net_liq", 0.0)
        mine = account.exposure(self.book, compiled.name, ctx.now)
        limits = limit_values(compiled, ctx.scalars(compiled.name))
        problem = limit_problem(limits, proposal, mine, net_liq)
        if problem:
            return f"limit: {problem}"
        sectors = {k: v for c in rules.portfolios for k, v in c.program.sectors.items()}
        in_use = max(net_liq - ctx.account.get("buying_power", net_liq), 0.0)
        every = account.exposure(self.book, None, ctx.now, in_use, sectors)
        for portfolio in rules.portfolios:
            limits = limit_values(portfolio, ctx.account)
            problem = limit_problem(limits, proposal, every, net_liq)
            if problem:
                return f"limit ({portfolio.name}): {problem}"
        return None

    async def _enter(
        self,
        ctx: TickContext,
        compiled: Compiled,
        subject: str,
        record: dict,
        legs: list[PositionLeg],
        contracts: int,
        detail: dict[str, Any],
    ) -> tuple[str, str | None]:
        now = ctx.now
        order_legs = self.book.intents(orders.order_legs(legs, Intent.OPEN), contracts)
        credit = float(record["credit"] or 0.0)
        underlying = underlying_of(ctx, legs)
        policy = self.policy(compiled.name)
        if policy.max_working is not None:
            working = len(self.desk.working_entries(compiled.name))
            if working >= policy.max_working:
                cap = policy.max_working
                return (
                    "rejected",
                    f"order: max_working {cap} reached ({working} entry orders working)",
                )
        req = priced_request(
            ctx, policy, "entry", compiled.name, compiled.version, order_legs, contracts, credit,
            underlying,
        )  # fmt: skip
        try:
            preview = await self.desk.broker.preview(req)
        except NotSupported:  # Alpaca has no preview: its own checks at placement decide
            preview = None
        except BrokerError as error:
            self.desk.failed(now, "preview", error)
            return "rejected", f"preview failed: {error}"
        if preview is not None and not preview.accepted:
            return "rejected", f"preview: {'; '.join(preview.errors)}"
        position = new_position(compiled, req, legs, record, now)
        position.detail.update(entry_state(ctx, legs, record))
        self.book.add(position)
        detail["order"] = req.client_key
        detail["position"] = position.id
        reason = _entered(record, contracts, detail)
        self.recorder.provisional(now, compiled, "candidate", subject, "entered", reason, detail)
        placed = await self.desk.send(req, "entry", compiled.name, position.id, now)
        if not placed:
            why = f"order: {self.desk.rejection(req.client_key)}"
            again = retries.schedule(position, "entry", policy, now, reason)
            if again is None:
                position.unfilled()
            self.book.save(position)
            return ("rejected", why) if again is None else ("retrying", f"{why}; {again}")
        self.recorder.report.entries += 1
        return "entered", None


def _entered(record: dict, contracts: int, detail: dict[str, Any]) -> str:
    return f"{contracts} x at {record['credit']:+.2f} ({detail.get('size')})"


def underlying_of(ctx: TickContext, legs: list[PositionLeg]) -> str:
    for leg in legs:
        if leg.kind == "stock":
            return leg.symbol
        row = ctx.index.row(leg.symbol, leg.kind)
        if row >= 0:
            return str(ctx.market.column("underlying_symbol")[row])
    return ""


def new_position(
    compiled: Compiled,
    req: OrderRequest,
    legs: list[PositionLeg],
    record: dict,
    now: datetime,
    rolled_from: Position | None = None,
) -> Position:
    """The position an entry (or a roll's opening side) creates, before any fill: priced at
    the candidate's mid, keyed by the order's idempotency key, with its roll lineage."""
    return Position(
        id=position_id(req.client_key),
        strategy=compiled.name,
        version=compiled.version,
        underlying=req.underlying,
        legs=legs,
        opened_at=now,
        entry_key=req.client_key,
        ordered=req.quantity,
        entry_price=float(record["credit"] or 0.0),
        max_profit=float(record["max_profit"] or 0.0),
        max_loss=float(record["max_loss"] or 0.0),
        parent_id=rolled_from.id if rolled_from else None,
        root_id=(rolled_from.root_id or rolled_from.id) if rolled_from else None,
        roll_number=rolled_from.roll_number + 1 if rolled_from else 0,
        detail={**planned(record), "rank": record["rank"]},
    )


def entry_state(ctx: TickContext, legs: list[PositionLeg], record: dict) -> dict[str, float]:
    """What the market was when the position was entered: the underlying's price and the
    sold legs' mean implied volatility (position fields `entry_underlying_price`, `entry_iv`)."""
    state: dict[str, float] = {}
    for leg in legs:
        row = ctx.index.row(leg.symbol, leg.kind)  # a stock leg: its underlying's row
        if row >= 0:
            state["entry_underlying_price"] = float(ctx.market.column("underlying_price")[row])
            break
    sold = [  # options only: sold shares have no implied volatility
        float(x["iv"])
        for x in record.get("legs") or ()
        if x.get("side") == "sell" and x.get("kind") != "stock" and x.get("iv") is not None
    ]
    sold = [v for v in sold if math.isfinite(v)]
    if sold:
        state["entry_iv"] = sum(sold) / len(sold)
    return state


def planned(record: dict) -> dict[str, float]:
    """The candidate's numbers at the mid: fills are measured against them."""
    return {
        "planned_credit": float(record["credit"] or 0.0),
        "planned_max_profit": float(record["max_profit"] or 0.0),
        "planned_max_loss": float(record["max_loss"] or 0.0),
        "planned_delta": float(record.get("net_delta") or 0.0) * MULTIPLIER,
        "planned_vega": float(record.get("net_vega") or 0.0) * MULTIPLIER,
        "entry_mid": float(record["credit"] or 0.0),
    }


def limit_values(compiled: Compiled, scalars) -> dict[str, float]:
    return section_values(compiled, "limits", scalars)


def section_values(compiled: Compiled, section: str, scalars) -> dict[str, float]:
    """A file's `limits:` or (a portfolio's) `size:` numbers, evaluated on `scalars`; counts
    as they are, `near_target`'s steps left to the sizing that reads them."""
    values: dict[str, float] = {}
    view = None
    entries = compiled.program.limits if section == "limits" else compiled.program.size
    for key, value in entries.items():
        if isinstance(value, int):
            values[key] = value
            continue
        node = compiled.graph.values.get(f"{section}:{key}")
        if node is None:
            continue
        if view is None:
            view = Evaluator(compiled.graph, ScalarView(scalars))
        values[key] = float(np.asarray(view.value(node)).reshape(-1)[0])
    return values
