"""Issue 14: hot reload a trader can watch. `rules run --feed synthetic` as a real process
while the test edits its rule files: a good save goes active with its version and what it
changed, a broken save is refused with `rules lint`'s text and the version still running, a
half-written save is refused, a deleted risk file is refused (it held the breakers), a rename
is only a rename, and Ctrl-C stops with the summary. No traceback ever reaches the terminal."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.e2e.process import Engine

pytestmark = pytest.mark.slow


def save(path: Path, text: str) -> None:
    path.write_text(text)


def test_a_running_feed_shows_every_reload_event(tmp_path):
    folder = tmp_path / "rules"
    folder.mkdir()
    strategy = folder / "spx_ema_cross_5m.yaml"
    shutil.copy(ROOT / "rules" / "spx_ema_cross_5m.yaml", strategy)
    shutil.copy(ROOT / "rules" / "risk.yaml", folder / "risk.yaml")
    original = strategy.read_text()
    engine = Engine(folder, tmp_path / "data")
    try:
        engine.wait_for("watching the rules for saves")
        time.sleep(1.0)  # let the watcher start

        save(strategy, original.replace("credit >= $0.40", "credit >= $0.30"))
        line = engine.wait_for("spx_ema_cross_5m.yaml v2 active")
        assert "entry: credit >= $0.40 -> $0.30" in line
        assert "on the last snapshot:" in line
        engine.wait_for("checked and swapped in")

        save(strategy, original.replace("credit >= $0.40", "credt >= $0.30"))
        engine.wait_for("error[E102]: unknown name 'credt'")
        engine.wait_for("spx_ema_cross_5m.yaml refused: still running v2")

        save(strategy, original[: original.index("exit:")])  # half-written: no exits
        engine.wait_for("spx_ema_cross_5m.yaml refused: still running v2")

        save(strategy, original)
        engine.wait_for("spx_ema_cross_5m.yaml v3 active: entry: credit >= $0.30 -> $0.40")

        risk = (folder / "risk.yaml").read_text()
        (folder / "risk.yaml").unlink()
        engine.wait_for("risk.yaml refused: still running v1")
        save(folder / "risk.yaml", risk)
        engine.wait_for("no rule changed")

        strategy.rename(folder / "ema_cross.yaml")
        engine.wait_for("renamed to ema_cross.yaml: same rules, still v3")
    finally:
        code = engine.stop()
    text = "\n".join(engine.seen)
    assert code == 130
    assert "summary:" in text
    assert "Traceback" not in text
