"""The README's dashboard screenshot: the example rules on the synthetic intraday feed with
`--serve`, photographed by Debian's chromium once positions are open.

    .venv/bin/python docs/screenshot.py            # writes docs/dashboard.png
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    data = Path(tempfile.mkdtemp()) / "data"
    rules = str(Path(sys.executable).parent / "rules")
    command = [
        rules, "run", str(ROOT / "rules"), "--feed", "synthetic:2018-01-22:2018-01-26",
        "--speed", "300", "--data-dir", str(data), "--fresh", "--serve", str(port),
    ]  # fmt: skip
    engine = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            try:
                if len(httpx.get(f"{base}/api/positions", timeout=2).json()) >= 1:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.5)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=shutil.which("chromium"), args=["--no-sandbox"]
            )
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            page.goto(base + "/")
            page.wait_for_selector("#live.on")
            page.wait_for_selector("body[data-loaded=yes]")
            time.sleep(1.0)
            out = ROOT / "docs" / "dashboard.png"
            page.screenshot(path=str(out), full_page=False)
            browser.close()
        print(f"wrote {out.relative_to(ROOT)}")
    finally:
        engine.send_signal(signal.SIGINT)
        engine.wait(timeout=30)
        shutil.rmtree(data.parent, ignore_errors=True)
    return 0


if __name__ == "__main__":
    os.chdir(ROOT)
    sys.exit(main())
