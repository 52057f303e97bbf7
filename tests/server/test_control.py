"""Control endpoints over a real engine (the paper broker over the SPX week): each request
changes what the next tick does, through the same journal as `rules kill` and `unlock`."""

from __future__ import annotations

import httpx
import pytest

from rulesengine.engine.reload import Reloader
from rulesengine.server.app import create_app
from rulesengine.server.auth import Auth, Tokens
from rulesengine.server.controls import EngineControls
from rulesengine.server.reader import JournalReader
from tests.engine.harness import PUT_SPREAD, Harness

pytestmark = pytest.mark.anyio
CONTROL = {"Authorization": "Bearer control-token"}
TIME_STOP = PUT_SPREAD.replace("stop_loss: pnl <= -10 * max_profit", "stop_loss: pnl <= -1000")


@pytest.fixture
def engine_api(tmp_path, spx):
    async def make(rules: str = TIME_STOP):
        h = Harness(tmp_path, spx, {"puts.yaml": rules})
        reloader = Reloader(h.engine, [str(h.rules_dir)], h.messages.append)
        auth = Auth(Tokens(None, "control-token"), True)
        app = create_app(
            JournalReader(h.data_dir), auth, EngineControls(h.engine, reloader), h.clock.now
        )
        transport = httpx.ASGITransport(app=app)
        client = httpx.AsyncClient(transport=transport, base_url="http://t", headers=CONTROL)
        return h, client

    return make


async def test_pause_blocks_entries_until_resumed(engine_api):
    h, api = await engine_api()
    paused = await api.post("/api/control/pause", json={"reason": "lunch"})
    assert paused.status_code == 200
    (lock,) = (await api.get("/api/locks")).json()
    assert (lock["name"], lock["action"]) == ("api_pause", "block_entries")
    report = await h.day(0)
    assert report.entries == 0
    assert "paused through the API: lunch" in h.decisions("scan")[-1]["reason"]
    assert (await api.post("/api/control/resume")).json() == {"resumed": ["api_pause"]}
    assert (await h.day(1)).entries == 1


async def test_close_a_position_by_hand_at_the_next_tick(engine_api):
    h, api = await engine_api()
    await h.day(0)
    (position,) = h.positions("open")
    asked = await api.post(f"/api/control/close/{position.id}", json={"reason": "news"})
    assert asked.json() == {"position": position.id, "close": "at the next tick"}
    report = await h.day(1)
    assert report.exits == 1
    (closed,) = [p for p in h.positions() if p.id == position.id]
    assert closed.exit_reason == "closed by hand (API: news)"
    missing = await api.post("/api/control/close/p-nothing")
    assert missing.status_code == 404 and "no open position" in missing.json()["error"]


async def test_kill_with_close_all_then_unlock(engine_api):
    h, api = await engine_api()
    await h.day(0)
    killed = await api.post("/api/control/kill", json={"close_all": True, "reason": "test"})
    assert killed.json() == {"kill_switch": "close_all"}
    report = await h.day(1)
    assert report.entries == 0 and report.exits == 1
    lifted = (await api.post("/api/control/unlock/kill_switch")).json()["lifted"]
    assert [(x["name"], x["action"]) for x in lifted] == [("kill_switch", "close_all")]
    again = await api.post("/api/control/unlock/kill_switch")
    assert again.status_code == 404


async def test_scan_now_runs_a_scan_the_schedule_would_not(engine_api):
    scheduled = TIME_STOP + "schedule:\n  scan: every 5m between 10:00 and 11:00\n"
    h, api = await engine_api(scheduled)
    assert (await h.day(0)).entries == 0  # 15:45: outside the scan window
    assert (await api.post("/api/control/scan?strategy=puts")).status_code == 200
    assert (await h.day(1)).entries == 1
    assert (await api.post("/api/control/scan?strategy=nope")).status_code == 404


async def test_reload_reports_and_refuses_a_broken_file(engine_api):
    h, api = await engine_api()
    before = h.engine.rules.version
    (h.rules_dir / "puts.yaml").write_text(TIME_STOP.replace("credit >= $0.50", "credt > 1"))
    refused = (await api.post("/api/control/reload")).json()
    assert refused["active"] is False and refused["version"] == before
    assert any("unknown name 'credt'" in line for line in refused["report"])
    (h.rules_dir / "puts.yaml").write_text(TIME_STOP.replace("credit >= $0.50", "credit >= $0.60"))
    done = (await api.post("/api/control/reload")).json()
    assert done["active"] is True and done["version"] != before
    assert any("credit >= $0.50 -> $0.60" in line for line in done["report"])
    reloads = (await api.get("/api/reloads")).json()
    assert [r["active"] for r in reloads] == [True, False]  # newest first, both kept
    assert reloads[0]["report"] == done["report"] and reloads[0]["version"] == done["version"]
