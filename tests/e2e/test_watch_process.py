"""Issue 14: hot reload a trader can watch. `rules run --feed synthetic` as a real process
while the test edits its rule files: a good save goes active with its version and what it
changed, a broken save is refused with `rules lint`'s text and the version still running, a
half-written save is refused, a deleted risk file is refused (it held the breakers), a rename
is only a rename, and Ctrl-C stops with the summary. No traceback ever reaches the terminal."""

from __future__ import annotations

import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.slow

WAIT = 30.0  # seconds to wait for one expected line (CI machines are slow, never a timing)


class Engine:
    """The process, its output lines read on a thread, and a way to wait for a line."""

    def __init__(self, folder: Path, data: Path):
        command = [
            str(Path(sys.executable).parent / "rules"), "run", str(folder),
            "--feed", "synthetic:2018-01-23:2018-01-24", "--speed", "600",
            "--data-dir", str(data), "--fresh",
        ]  # fmt: skip
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "COLUMNS": "200"}
        self.process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line.rstrip("\n"))

    def wait_for(self, text: str) -> str:
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.2)
            except queue.Empty:
                continue
            self.seen.append(line)
            if text in line:
                return line
        raise AssertionError(f"no line with {text!r}; the engine printed:\n" + "\n".join(self.seen))

    def stop(self) -> int:
        self.process.send_signal(signal.SIGINT)
        try:
            code = self.process.wait(timeout=WAIT)
        finally:
            if self.process.poll() is None:
                self.process.kill()
        time.sleep(0.2)
        while not self.lines.empty():
            self.seen.append(self.lines.get())
        return code


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
