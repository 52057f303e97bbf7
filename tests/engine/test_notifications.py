"""Notifications through the real engine: which decisions become events, `-> alert`, and the
outbox delivered to a local webhook with the journal's own words."""

from __future__ import annotations

import pytest

from rulesengine.notify.service import Notifier
from tests.engine.harness import PUT_SPREAD
from tests.notify.receivers import Webhook

pytestmark = pytest.mark.anyio


def risk(url: str, breaker: str = "", events: str = "all") -> str:
    text = "portfolio: risk\n"
    if breaker:
        text += f"breakers:\n  watch: {breaker}\n"
    return text + f"notify:\n  desk:\n    url: {url}\n    events: {events}\n"


def outbox(h) -> list[dict]:
    rows = h.journal.db.execute("SELECT * FROM outbox ORDER BY at, event").fetchall()
    return [dict(r) for r in rows]


async def test_an_entry_and_its_fill_are_queued_with_the_tick(harness):
    h = harness({"puts.yaml": PUT_SPREAD, "risk.yaml": risk("json://127.0.0.1:9/x")}, True)
    report = await h.day(0)
    assert report.entries == 1
    rows = outbox(h)
    assert [r["event"] for r in rows] == ["entry", "fill"]
    (position,) = h.positions()
    assert rows[0]["title"] == f"puts: entry {position.id}"
    assert rows[0]["body"].startswith("sell SPX 2011-02-18") and "buy SPX" in rows[0]["body"]
    assert "filled 1 of 1" in rows[1]["body"] and {r["status"] for r in rows} == {"queued"}


async def test_without_notify_the_engine_queues_nothing(harness):
    h = harness({"puts.yaml": PUT_SPREAD, "risk.yaml": risk("json://127.0.0.1:9/x")})
    await h.day(0)
    assert outbox(h) == []  # a backtest or a scenario notifies no one


async def test_events_not_routed_to_a_channel_are_not_queued(harness):
    files = {"puts.yaml": PUT_SPREAD, "risk.yaml": risk("json://127.0.0.1:9/x", events="[fill]")}
    h = harness(files, True)
    await h.day(0)
    assert [r["event"] for r in outbox(h)] == ["fill"]


async def test_alert_notifies_without_blocking_entries_and_rearms_on_new_values(harness):
    breaker = "net_liq > 0 -> alert"
    h = harness({"puts.yaml": PUT_SPREAD, "risk.yaml": risk("json://h:9/x", breaker)}, True)
    report = await h.day(0)
    assert report.trips == ["portfolio.watch -> alert"]
    assert report.entries == 1  # an alert locks nothing
    (alert,) = [r for r in outbox(h) if r["event"] == "breaker"]
    assert alert["severity"] == "warning" and "watch tripped -> alert" in alert["body"]
    # quiet for the rest of the session, then again once the values that tripped it change
    again = await h.day(0)
    assert again.trips == []
    report = await h.day(1)
    assert report.trips == ["portfolio.watch -> alert"]  # net liq moved: a new reason
    assert len([r for r in outbox(h) if r["event"] == "breaker"]) == 2


async def test_halt_is_a_critical_event(harness):
    h = harness(
        {"puts.yaml": PUT_SPREAD, "risk.yaml": risk("json://h:9/x", "net_liq > 0 -> halt")}, True
    )
    await h.day(0)
    (alert,) = [r for r in outbox(h) if r["event"] == "breaker"]
    assert alert["severity"] == "critical"


async def test_the_outbox_reaches_a_webhook_once_with_the_journals_words(harness):
    hook = Webhook().start()
    try:
        h = harness({"puts.yaml": PUT_SPREAD, "risk.yaml": risk(hook.url)}, True)
        await h.day(0)
        await h.day(1)
        h.open()  # a restart re-runs nothing already sent
        await h.day(1)
        programs = [c.program for c in h.engine.rules.portfolios]
        notifier = Notifier(h.journal.path, programs, environ={}).start()
        assert notifier.dispatcher.drain(10)
        line = notifier.stop()
    finally:
        hook.stop()
    rows = outbox(h)
    assert sorted(hook.ids()) == sorted(r["id"] for r in rows)
    assert line == f"notify: {len(rows)} sent"
    by_id = {m["id"]: m for m in hook.received}
    for row in rows:
        assert by_id[row["id"]]["title"] == row["title"]
        assert by_id[row["id"]]["message"] == row["body"]


async def test_a_reload_whose_channel_cannot_be_used_is_refused(harness, monkeypatch):
    from rulesengine.engine.reload import Reloader

    hook = Webhook()
    h = harness({"puts.yaml": PUT_SPREAD, "risk.yaml": risk(hook.url)}, True)
    programs = [c.program for c in h.engine.rules.portfolios]
    notifier = Notifier(h.journal.path, programs, environ={})
    reloader = Reloader(h.engine, [str(h.rules_dir)], h.messages.append)
    reloader.notifier = notifier
    before = h.engine.rules
    (h.rules_dir / "risk.yaml").write_text(risk("json://127.0.0.1/${RULES_TEST_NO_SUCH_VAR}"))
    assert await reloader.attempt() is False
    assert h.engine.rules is before and [c.name for c in notifier.channels] == ["desk"]
    assert any("environment variable RULES_TEST_NO_SUCH_VAR is not set" in m for m in h.messages)
    # a usable change is followed by the dispatcher
    (h.rules_dir / "risk.yaml").write_text(risk(hook.url).replace("desk:", "ops:"))
    assert await reloader.attempt() is True
    assert [c.name for c in notifier.channels] == ["ops"]
    assert list(notifier.dispatcher.channels) == ["ops"]


def test_an_expired_in_the_money_equity_option_is_an_assignment(harness):
    """The broker assigns it into shares: the position's settlement says which shares
    arrive, and the `assignment` event carries it."""
    from datetime import date, datetime

    from rulesengine.engine.holdings import deliveries
    from rulesengine.engine.positions import Position, PositionLeg
    from rulesengine.notify.events import DEFAULT_SEVERITY

    h = harness()
    expiry = date(2024, 4, 19)
    h.engine.book.spots.see("AAPL", 148.0, datetime(2024, 4, 19, 16, 0))
    put = PositionLeg("short", "AAPL  240419P00150000", -1, "put", 150.0, expiry.isoformat())
    call = PositionLeg("short_call", "AAPL  240419C00170000", -1, "call", 170.0, expiry.isoformat())
    p = Position(
        id="p-1", strategy="wheel", version="v", underlying="AAPL", legs=[put, call],
        opened_at=datetime(2024, 3, 1), entry_key="k", ordered=2, quantity=2,
    )  # fmt: skip
    settlement = h.engine.book.spots.settlement_price
    (delivered,) = deliveries(p, settlement)  # the call expires worthless
    assert delivered.describe() == "AAPL 150 put assigned: +200 shares at 150 (settlement 148)"
    index = Position(**{**p.__dict__, "underlying": "SPX", "id": "p-2"})
    assert deliveries(index, settlement) == []  # cash-settled
    assert DEFAULT_SEVERITY["assignment"] == "warning"
