"""Every scalar a rule can read moves away from its idle value through the real path: the
engine's tick over the paper account, the journal and a market snapshot (issue 12: this is how
`rate_limited`, always 0, would have been caught). A scalar added to the names registry
without a source fails here."""

from __future__ import annotations

import math
from datetime import time, timedelta
from time import monotonic

import pytest

from brokers.errors import BrokerUnavailable
from brokers.http import Health
from rulesengine.check.names import FIELDS, Scope
from rulesengine.data.chain import Bars, to_seconds
from rulesengine.data.quotes import SnapshotListing
from rulesengine.engine.replay import stamp
from tests.engine.harness import DAYS, PUT_SPREAD
from tests.engine.test_sizing_limits import held

pytestmark = pytest.mark.anyio

ACCOUNT_SCALARS = sorted(f.name for f in FIELDS if f.scope is Scope.PORTFOLIO)
CLOSES_NEXT_DAY = PUT_SPREAD.replace("stop_loss: pnl <= -10 * max_profit", "time_stop: dte <= 45")
IDLE = {  # what each reads with nothing held, nothing traded and nothing wrong
    "net_liq": 100_000.0,
    "buying_power": 100_000.0,
    "options_buying_power": 100_000.0,
    "day_pnl": 0.0,
    "week_pnl": 0.0,
    "losing_streak": 0.0,
    "winning_streak": 0.0,
    "drawdown": 0.0,
    "open_positions": 0.0,
    "heat": 0.0,
    "portfolio_delta": 0.0,
    "portfolio_vega": 0.0,
    "broker_errors": 0.0,
    "rate_limited": 0.0,
    "data_age": 0.0,
    "vix": math.nan,
    "minutes_to_close": 0.0,
    "time": 0.0,
    "today": 0.0,
    "weekday": 0.0,  # Sunday
}


def test_the_idle_table_covers_the_registry():
    assert sorted(IDLE) == ACCOUNT_SCALARS


async def test_every_account_scalar_moves_through_the_real_path(harness):
    h = harness({"puts.yaml": CLOSES_NEXT_DAY})
    seen: dict[str, list[float]] = {name: [] for name in ACCOUNT_SCALARS}

    def record() -> None:
        for name in ACCOUNT_SCALARS:
            seen[name].append(h.engine.context.account[name])

    won = held(1, strategy="puts")[0]  # a trade won before the replay, as the journal keeps it
    won.close(stamp(DAYS[0]) - timedelta(days=3), 125.0, "take_profit")
    h.engine.book.add(won)
    await h.day(0)  # enters a put spread
    record()
    await h.day(1)  # the time stop closes it (at a loss: fees and the walk), re-enters
    record()
    health = Health()
    h.broker.health = health  # what an HTTP adapter exposes
    health.record_429(monotonic())

    async def failing_account():
        raise BrokerUnavailable("503", broker="paper")

    real_account, h.broker.account = h.broker.account, failing_account
    await h.day(2, at=time(10, 0), work=False)  # the broker fails: broker_errors counts it
    record()
    h.broker.account = real_account
    snapshot = h.snapshot(2)
    snapshot.bars = {**snapshot.bars, "VIX": Bars.from_closes({to_seconds(DAYS[2]): 19.5})}
    h.clock.set(h.clock.now().replace(hour=11))
    h.broker.book.update(SnapshotListing(snapshot), {}, h.clock.now())
    await h.engine.tick(snapshot, as_of=h.clock.now().replace(hour=10, minute=30))  # stale data
    record()
    moved = {
        name: any(not _same(value, IDLE[name]) for value in values) for name, values in seen.items()
    }
    assert [name for name, ok in moved.items() if not ok] == []


def _same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == pytest.approx(b, abs=1e-9)
