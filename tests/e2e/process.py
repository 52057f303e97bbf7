"""A `rules run --feed` process for end-to-end tests: its output read on a thread, waited on
line by line, and stopped with Ctrl-C as a trader would."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

WAIT = 30.0  # seconds to wait for one expected line (CI machines are slow, never a timing)


class Engine:
    """The process, its output lines read on a thread, and a way to wait for a line."""

    def __init__(self, folder: Path, data: Path, *extra: str, env: dict[str, str] | None = None):
        command = [
            str(Path(sys.executable).parent / "rules"), "run", str(folder),
            "--feed", "synthetic:2018-01-23:2018-01-24", "--speed", "600",
            "--data-dir", str(data), "--fresh", *extra,
        ]  # fmt: skip
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "COLUMNS": "200", **(env or {})}
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
