"""Each read endpoint over a real run's journal, reconciled with the journal itself."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import httpx
import pytest
from fastapi.testclient import TestClient

from rulesengine.engine.journal import Journal
from rulesengine.engine.session import JOURNAL_FILE, summary
from rulesengine.server.app import create_app
from rulesengine.server.auth import Auth, Tokens
from rulesengine.server.reader import JournalMissing, JournalReader


@pytest.fixture
def api(week_journal):
    return TestClient(create_app(JournalReader(week_journal), Auth(Tokens(), True)))


@pytest.fixture
def journal(week_journal):
    j = Journal(week_journal / JOURNAL_FILE)
    yield j
    j.close()


def test_status_is_the_journals_last_snapshot(api, journal):
    status = api.get("/api/status").json()
    last = list(journal.snapshots())[-1]
    assert status["mode"] == "journal" and status["last_tick"] == journal.get("last_tick")
    assert status["account"]["net_liq"] == last["net_liq"]
    assert status["account"]["starting_net_liq"] == 100_000
    s = summary(journal)
    assert status["positions"]["realised_pnl"] == s["realised_pnl"]
    assert sum(status["positions"]["by_status"].values()) == len(journal.positions())


def test_positions_carry_legs_marks_and_whether_the_model_marked_them(api, journal):
    shown = api.get("/api/positions").json()
    held = [p for p in journal.positions() if p.is_open]
    assert [p["id"] for p in shown] == [p.id for p in held]
    for row, p in zip(shown, held, strict=True):
        assert row["last_mark"] == p.last_mark and len(row["legs"]) == len(p.legs)
        assert row["marked_by_model"] is bool(p.detail.get("marked_by_model"))
        assert isinstance(row["delta"], float) and isinstance(row["vega"], float)
    everything = api.get("/api/positions?all=true").json()
    assert len(everything) == len(journal.positions())


def test_pnl_by_day_adds_up_to_the_account_pnl(api, journal):
    days = api.get("/api/pnl?period=day").json()
    assert [d["period"] for d in days] == [f"2011-01-0{d}" for d in (3, 4, 5, 6, 7)]
    start = next(iter(journal.snapshots()))["net_liq"]
    total = round(sum(d["pnl"] for d in days), 2)
    assert total == round(days[-1]["net_liq"] - start, 2)
    (week,) = api.get("/api/pnl?period=week").json()
    assert week["pnl"] == total and week["realised"] == summary(journal)["realised_pnl"]
    assert api.get("/api/pnl?period=year").status_code == 422


def test_orders_decisions_and_why(api, journal):
    orders = api.get("/api/orders").json()
    assert len(orders) == len(journal.orders())
    filled = api.get("/api/orders?status=filled").json()
    assert filled and {o["status"] for o in filled} == {"filled"}
    scans = api.get("/api/decisions?kind=scan&limit=3").json()
    assert len(scans) == 3 and all(d["kind"] == "scan" for d in scans)
    assert scans[0]["at"] >= scans[-1]["at"]  # newest first
    position = journal.positions()[0]
    why = api.get(f"/api/why/{position.id}").json()
    assert why["position"]["id"] == position.id
    assert position.entry_key in [o["key"] for o in why["orders"]]
    assert any(d["kind"] == "candidate" for d in why["decisions"])
    assert api.get("/api/why/p-nothing").status_code == 404


def test_funnel_rules_locks_alerts_equity(api, journal):
    funnel = api.get("/api/funnel").json()
    strategies = {d["strategy"] for d in funnel}
    assert "bull_put_spread" in strategies and all(d["kind"] == "scan" for d in funnel)
    assert funnel[0]["detail"]["funnel"][0]["stage"] == "universe"
    rules = api.get("/api/rules").json()
    assert {r["status"] for r in rules} == {"active"} and all(r["text"] for r in rules)
    assert api.get("/api/locks").json() == []
    assert api.get("/api/alerts").status_code == 200
    assert api.get("/api/notifications").json() == []  # a run without `notify:` queues none
    assert api.get("/api/reloads").json() == []  # no reload in a replay without --watch
    equity = api.get("/api/equity").json()
    assert len(equity) == len(list(journal.snapshots()))


@pytest.mark.anyio
async def test_the_event_stream_replays_then_follows_the_journal(week_journal):
    reader = JournalReader(week_journal)
    app = create_app(reader, Auth(Tokens(), True), poll=0.02)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        replay = await client.get("/api/events?since=0&limit=3")
        events = [b for b in replay.text.split("\n\n") if b.startswith("event:")]
        assert len(events) == 3 and events[0].startswith("event: decision\nid: decisions:")
        # from now on: only what the journal records after the client connected
        follow = asyncio.create_task(client.get("/api/events?limit=1"))
        await asyncio.sleep(0.2)
        journal = Journal(week_journal / JOURNAL_FILE)
        try:
            journal.alert(datetime.now(UTC), "breaker", "test.breaker tripped -> halt")
            journal.commit()
            body = (await asyncio.wait_for(follow, 10)).text
        finally:
            journal.db.execute("DELETE FROM alerts WHERE level='breaker'")
            journal.close()
    assert "event: alert" in body and "test.breaker tripped -> halt" in body


def test_a_missing_journal_says_what_to_do(tmp_path):
    with pytest.raises(JournalMissing, match="start the engine with `rules run --data-dir"):
        JournalReader(tmp_path)


def test_the_dashboard_and_its_assets_are_served_from_the_package(api):
    page = api.get("/")
    assert page.status_code == 200 and "/static/app.js" in page.text
    assert "http" not in page.text.replace("http://www.w3.org", "")  # nothing from a CDN
    script = api.get("/static/app.js")
    assert script.status_code == 200 and "/api/events" in script.text
    assert "paths" in api.get("/openapi.json").json()
    assert api.get("/docs").status_code == 404  # Swagger UI loads from a CDN: off
