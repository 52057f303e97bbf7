"""The books reconcile, whatever the market: property tests over random synthetic seeds, start
dates and sets of strategies, each a month replayed through the real engine and paper account.

- net liq at every snapshot == starting cash + realised + unrealised P&L, to the cent, and the
  last snapshot's cash is the paper account's own cash;
- between two snapshots net liq moves by no more than the max losses and max profits of the
  positions open at either time, plus the fees paid in between;
- closed trades' P&L plus open positions at their marks is the report's total P&L, and the
  total return says the same;
- no fill happens while the market is closed; no count limit is ever exceeded.
"""

from __future__ import annotations

import json
import tempfile
from datetime import date, datetime, timedelta
from decimal import Decimal
from itertools import pairwise
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rulesengine.backtest.run import run_backtest
from rulesengine.engine.clock import NEW_YORK
from rulesengine.engine.journal import Journal
from rulesengine.engine.replay import open_replay
from rulesengine.engine.ruleset import load_rules
from rulesengine.engine.sessions import Sessions
from tests.conftest import RULES

STRATEGIES = ("bull_put_spread", "bear_call_spread", "iron_condor")
START = 100_000.0
CENT = 0.011  # rounding of each of the parts to the cent


def backtest(seed: int, start: date, names: frozenset[str], out: Path):
    rules = load_rules([RULES / f"{n}.yaml" for n in sorted(names)] + [RULES / "risk.yaml"])
    end = start + timedelta(days=30)
    source = open_replay(f"synthetic:{start}:{end}:{seed}")
    return rules, run_backtest(rules, source, out)


@pytest.mark.slow
@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 10_000),
    start=st.dates(date(2008, 1, 1), date(2018, 10, 1)),
    names=st.frozensets(st.sampled_from(STRATEGIES), min_size=1),
)
def test_the_books_reconcile_on_every_snapshot(seed, start, names):
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        rules, result = backtest(seed, start, names, out)
        journal = Journal(out / "journal.sqlite")
        try:
            snapshots = [
                (datetime.fromisoformat(r["at"]), r["net_liq"], r["cash"], json.loads(r["detail"]))
                for r in journal.snapshots()
            ]
            positions = journal.positions()
            fills = journal.fills()
        finally:
            journal.close()
        paper_cash = float(Decimal(json.loads((out / "paper.json").read_text())["cash"]))
    _net_liq_is_its_parts(snapshots, paper_cash)
    _moves_are_bounded(snapshots, positions, fills)
    _reports_add_up(result)
    _fills_in_session(fills)
    _count_limits_hold(rules, positions, [t for t, *_ in snapshots])


def _net_liq_is_its_parts(snapshots, paper_cash: float) -> None:
    for _, net_liq, _, detail in snapshots:
        parts = START + detail["realised_pnl"] + detail["unrealised_pnl"]
        assert net_liq == pytest.approx(parts, abs=CENT)
    assert snapshots[-1][2] == pytest.approx(paper_cash, abs=CENT)  # the account's own cash


def _moves_are_bounded(snapshots, positions, fills) -> None:
    for (t1, liq1, _, _), (t2, liq2, _, _) in pairwise(snapshots):
        live = [
            p
            for p in positions
            if p.quantity and p.opened_at <= t2 and (p.closed_at is None or p.closed_at >= t1)
        ]
        bound = sum((p.max_loss + p.max_profit) * p.quantity for p in live)
        paid = [f for f in fills if t1 < datetime.fromisoformat(f["at"]) <= t2]
        assert abs(liq2 - liq1) <= bound + sum(float(f["fees"]) for f in paid) + CENT


def _reports_add_up(result) -> None:
    open_pnl = sum(
        float(p.detail.get("pnl", 0.0)) + float(p.detail.get("realised_part", 0.0)) - p.fees
        for p in result.still_open
    )
    assert result.starting == START
    total = result.equity[-1] - START
    assert sum(t.pnl for t in result.trades) + open_pnl == pytest.approx(total, abs=CENT)
    assert result.overall.total_pnl == pytest.approx(total, abs=CENT)
    assert result.overall.total_return == pytest.approx(total / START, abs=1e-9)


def _fills_in_session(fills) -> None:
    sessions = Sessions()
    for f in fills:
        at = datetime.fromisoformat(f["at"]).astimezone(NEW_YORK)
        assert sessions.closed_reason("SPX", at) is None, f"a fill at {at}"


def _count_limits_hold(rules, positions, times) -> None:
    """At every snapshot, no strategy or the account holds more than its count limits."""
    caps = {c.name: c.program.limits for c in rules.strategies.values()}
    account_cap = rules.portfolios[0].program.limits.get("max_positions")
    for t in times:
        held = [
            p
            for p in positions
            if p.quantity and p.opened_at <= t and (p.closed_at is None or p.closed_at > t)
        ]
        assert account_cap is None or len(held) <= account_cap
        for name, limits in caps.items():
            mine = [p for p in held if p.strategy == name]
            if "max_positions" in limits:
                assert len(mine) <= limits["max_positions"]
            if "max_per_expiry" in limits:
                for expiry in {p.expiry for p in mine}:
                    assert sum(p.expiry == expiry for p in mine) <= limits["max_per_expiry"]
