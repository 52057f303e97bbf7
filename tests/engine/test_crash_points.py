"""Crashes at the two dangerous moments of an order, made deterministic: the intent is
committed but the broker never got it, and the broker took it but the journal never heard.
A restart re-runs the tick and ends with exactly the orders of a run that never crashed."""

from __future__ import annotations

import pytest

from brokers.errors import AmbiguousOrder, BrokerTimeout
from rulesengine.engine.journal import canonical
from rulesengine.engine.reconcile import reconcile
from tests.engine.harness import PUT_SPREAD, Harness

pytestmark = pytest.mark.anyio


class Crash(BaseException):
    """The process dying: nothing after it runs (not an Exception, so nothing catches it)."""


async def reference(tmp_path, spx) -> dict:
    h = Harness(tmp_path / "reference", spx, {"puts.yaml": PUT_SPREAD})
    await h.day(0)
    return canonical(h.journal, decisions=False)


async def restart_and_rerun(h) -> dict:
    h.journal.close()
    h.open()
    await reconcile(h.engine, h.clock.now())
    await h.day(0)
    return canonical(h.journal, decisions=False)


async def test_crash_before_the_broker_hears_of_the_order(tmp_path, spx):
    expected = await reference(tmp_path, spx)
    h = Harness(tmp_path / "crashed", spx, {"puts.yaml": PUT_SPREAD})

    async def dies(order):
        raise Crash

    h.broker.place = dies
    with pytest.raises(Crash):
        await h.day(0)
    (row,) = h.journal.orders()
    assert row.status == "pending"  # the intent was durable before the broker call
    assert await restart_and_rerun(h) == expected


async def test_crash_after_the_broker_took_the_order(tmp_path, spx):
    expected = await reference(tmp_path, spx)
    h = Harness(tmp_path / "crashed", spx, {"puts.yaml": PUT_SPREAD})
    place = h.broker.place

    async def takes_it_then_dies(order):
        await place(order)
        await h.broker.aclose()  # the paper account's own state is saved, as a broker's is
        raise Crash

    h.broker.place = takes_it_then_dies
    with pytest.raises(Crash):
        await h.day(0)
    assert await restart_and_rerun(h) == expected
    assert len(h.journal.orders()) == 1


async def test_timeout_after_the_broker_acted_is_found_by_key(harness):
    h = harness()
    place = h.broker.place

    async def times_out(order):
        await place(order)
        raise BrokerTimeout("read timed out", broker="paper")

    h.broker.place = times_out
    report = await h.day(0)  # the order work that follows syncs it by key
    (row,) = h.journal.orders()
    assert row.status == "filled" and row.broker_id
    assert report.entries == 1
    assert any("read timed out" in a["message"] for a in h.journal.alerts())


async def test_an_ambiguous_send_processed_late_is_found_and_never_doubled(harness):
    """Issue 13 #4: the broker acts on the lost request a few lookups later."""
    h = harness()
    h.broker.lookup_window = 300.0
    place, find = h.broker.place, h.broker.find_order
    lost: list = []
    lookups = []

    async def answer_lost(order):
        lost.append(order)
        raise AmbiguousOrder("read timed out; may still reach the broker", broker="paper")

    async def processes_late(key):
        lookups.append(key)
        if lost and len(lookups) >= 3:
            await place(lost.pop())  # the broker finally acts on the first request
        return await find(key)

    h.broker.place, h.broker.find_order = answer_lost, processes_late
    report = await h.day(0)
    (row,) = h.journal.orders()
    assert row.status == "filled" and len(h.broker.ledger.orders) == 1
    assert len(lookups) >= 3 and report.entries == 1
    assert [p.status for p in h.positions()] == ["open"]


async def test_an_ambiguous_send_never_seen_is_declared_unsent_after_the_window(harness):
    h = harness()
    h.broker.lookup_window = 300.0

    async def answer_lost(order):
        raise AmbiguousOrder("read timed out; may still reach the broker", broker="paper")

    h.broker.place = answer_lost
    await h.day(0)  # the order work runs 10 minutes of syncs: longer than the window
    (row,) = h.journal.orders()
    assert row.status == "not_sent" and h.broker.ledger.orders == {}
    alerts = [a["message"] for a in h.journal.alerts()]
    assert any("still not at the broker after" in m and "declared unsent" in m for m in alerts)
    assert [p.status for p in h.positions()] == ["unfilled"]


async def test_an_order_intent_is_never_durable_without_its_decision(tmp_path, spx):
    """Issue 13 #7: a kill between the intent's commit and the decision lost `rules why`."""
    h = Harness(tmp_path / "crashed", spx, {"puts.yaml": PUT_SPREAD})

    async def dies(order):
        raise Crash

    h.broker.place = dies
    with pytest.raises(Crash):
        await h.day(0)
    h.journal.db.rollback()  # what a killed process leaves: only what was committed
    (row,) = h.journal.orders()
    (decision,) = [d for d in h.decisions("candidate") if row.key in (d["detail"] or "")]
    assert decision["outcome"] == "entered" and row.position_id in decision["detail"]


async def test_a_working_entry_is_never_stacked_with_a_second_identical_order(harness):
    """Found by the fake-broker run: a live broker leaves entries working between ticks, and
    every tick placed the same spread again (five ticks, five orders)."""
    from datetime import time

    h = harness()
    h.broker.policy = type(h.broker.policy)(**{**h.broker.policy.__dict__, "reprice": False})
    for minute in (45, 46, 47):
        await h.day(0, at=time(15, minute), work=False)
    assert len(h.journal.orders()) == 1
    reasons = [r["reason"] for r in h.decisions("candidate") if r["outcome"] == "rejected"]
    assert reasons and all(r.startswith("already being entered as p-") for r in reasons)
