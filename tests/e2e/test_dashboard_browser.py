"""The dashboard in a real browser (Debian's Chromium driven by Playwright) against a real
`rules run --feed ... --serve` process: figures match the API, the event stream goes live, and
a breaker's lock is lifted from the page with the control token."""

from __future__ import annotations

import os
import shutil
import time

import httpx
import pytest

from tests.conftest import ROOT
from tests.e2e.process import WAIT, Engine
from tests.notify.receivers import free_port

pytestmark = pytest.mark.slow
CONTROL = "dashboard-control-token"
RISK = "portfolio: risk\nbreakers:\n  test_lock: net_liq > 0 -> block_entries for 1d\n"


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("CI installs Debian's chromium (.ci/run): it is missing")
        pytest.skip("no chromium here: apt-get install chromium (as .ci/run does)")
    return found


def until(check, what: str):
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"never: {what}")


def test_the_dashboard_follows_the_engine_and_unlocks_a_breaker(tmp_path):
    sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright
    browser_path = chromium()
    folder = tmp_path / "rules"
    folder.mkdir()
    shutil.copy(ROOT / "rules" / "spx_ema_cross_5m.yaml", folder)
    (folder / "risk.yaml").write_text(RISK)
    port = free_port()
    engine = Engine(
        folder, tmp_path / "data", "--serve", f"127.0.0.1:{port}",
        env={"RULES_API_CONTROL_TOKEN": CONTROL},
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        engine.wait_for(f"serving {base}/ (dashboard and API; control on)")

        def held() -> list[dict]:
            locks = httpx.get(f"{base}/api/locks").json()
            return [lock for lock in locks if lock["name"] == "test_lock"]

        until(held, "the breaker trips")
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=browser_path, args=["--no-sandbox"]
            )
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(base + "/")
            page.wait_for_selector("body[data-loaded=yes]", timeout=WAIT * 1000)
            page.wait_for_selector("#live.on", timeout=WAIT * 1000)
            assert page.inner_text("#mode") == "engine (live)"
            assert "portfolio.test_lock" in page.inner_text("#locks")
            versions = httpx.get(f"{base}/api/rules").json()
            assert page.locator("#rules tbody tr").count() == min(len(versions), 20)
            funnel = page.inner_text("#funnel")
            assert "spx_ema_cross_5m" in funnel or "no scan yet" in funnel
            page.fill("#control-token", CONTROL)
            page.click("#tokens button")
            page.click("button[data-unlock=test_lock]")
            until(lambda: not held(), "the lock is lifted from the page")
            page.wait_for_function(
                "!document.querySelector('#locks').innerText.includes('test_lock')",
                timeout=WAIT * 1000,
            )
            status = httpx.get(f"{base}/api/status").json()
            shown = page.inner_text("#account .figure .value")
            assert shown == f"{status['account']['net_liq']:,.2f}"
            assert page.screenshot(full_page=True)[:4] == b"\x89PNG"
            browser.close()
        lifted = httpx.get(f"{base}/api/locks?active=false").json()
        assert any(x["name"] == "test_lock" and x["lifted_by"] == "api" for x in lifted)
    finally:
        engine.stop()
    assert not any("Traceback" in line for line in engine.seen)
