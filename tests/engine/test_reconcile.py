"""Restart reconciliation: orders found by key, orders never sent, positions changed by hand
at the broker (flagged) and holdings nobody opened (adopted)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from brokers.model import Intent, OrderLeg, OrderRequest, PriceEffect
from rulesengine.engine.reconcile import reconcile

pytestmark = pytest.mark.anyio


async def restart(h) -> list[str]:
    await h.broker.aclose()
    h.journal.close()
    h.open()
    return await reconcile(h.engine, h.clock.now())


async def test_an_order_the_broker_acknowledged_but_the_journal_missed_is_followed(harness):
    h = harness()
    await h.day(0)
    (row,) = h.journal.orders()
    # as if the process died after the broker took the order, before the journal heard back
    h.journal.save_order(row.moved(status="pending", broker_id=None, filled=0))
    h.journal.commit()
    await restart(h)
    after = h.journal.order(row.key)
    assert after.status == "filled" and after.broker_id == row.broker_id
    assert len(h.journal.orders()) == 1  # found by key: never placed again


async def test_an_intent_the_broker_never_received_is_marked_not_sent(harness):
    h = harness()
    await h.day(0)
    (p,) = h.positions("open")
    ghost = h.journal.orders()[0].moved(
        key="re-puts-ghost0000000000000000",
        status="pending",
        broker_id=None,
        purpose="exit",
        position_id=p.id,
    )
    h.journal.save_order(ghost)
    live = h.engine.positions[p.id]
    live.start_exit(ghost.key, "a closing order lost in a crash")
    h.journal.save_position(live)
    h.journal.commit()
    await restart(h)
    assert h.journal.order(ghost.key).status == "not_sent"
    assert h.journal.position(p.id).status == "open"  # the exit will be decided again


async def test_a_position_changed_by_hand_is_flagged_and_alerted(harness):
    h = harness()
    await h.day(0)
    (p,) = h.positions("open")
    short = next(leg for leg in p.legs if leg.ratio < 0)
    by_hand = OrderRequest(
        (OrderLeg(short.symbol, 1, Intent.CLOSE),),
        1,
        Decimal("20.00"),
        PriceEffect.DEBIT,
        "manual-close-1",
    )
    await h.broker.place(by_hand)
    notes = await restart(h)
    flagged = h.journal.position(p.id)
    assert flagged.status == "flagged"
    assert f"{short.symbol.strip()} journal -1, broker +0" in flagged.detail["flagged"]
    assert any("changed at the broker" in n for n in notes)
    assert any(a["level"] == "reconcile" for a in h.journal.alerts())
    await h.day(1)  # rules leave a flagged position alone
    assert h.journal.position(p.id).status == "flagged"


async def test_holdings_nobody_opened_are_adopted(harness):
    h = harness()
    await h.day(0)
    (p,) = h.positions("open")
    symbol = "SPX   110219P01000000"
    await h.broker.place(
        OrderRequest(
            (OrderLeg(symbol, 1, Intent.OPEN),),
            2,
            Decimal("5.00"),
            PriceEffect.DEBIT,
            "manual-buy-1",
        )
    )
    notes = await restart(h)
    (adopted,) = [q for q in h.positions() if q.strategy == "adopted"]
    assert adopted.status == "flagged"
    assert [(leg.symbol, leg.ratio) for leg in adopted.legs] == [(symbol, 2)]
    assert notes == [f"adopted +2 {symbol.strip()}"]
    assert h.journal.position(p.id).status == "open"  # the engine's own position is intact


async def test_adopted_holdings_are_marked_and_counted_every_tick(harness):
    """Issue 12 #5: positions no loaded strategy owns were never marked or counted."""
    h = harness()
    await h.day(0)
    symbol = "SPX   110219P01000000"
    await h.broker.place(
        OrderRequest((OrderLeg(symbol, 1, Intent.OPEN),), 2, Decimal("5.00"), PriceEffect.DEBIT,
                     "manual-buy-2")
    )  # fmt: skip
    await restart(h)
    await h.day(1, work=False)
    (adopted,) = [q for q in h.engine.open_positions() if q.strategy == "adopted"]
    mark = h.engine.book.marks[adopted.id]
    assert mark.delta < 0  # two long puts, marked at this tick's quotes
    own = sum(m.delta for pid, m in h.engine.book.marks.items() if pid != adopted.id)
    assert h.engine.context.account["portfolio_delta"] == pytest.approx(own + mark.delta)
    assert h.engine.context.account["open_positions"] == 2
