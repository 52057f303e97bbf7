"""The dispatcher: sends the outbox's rows off the tick path, one thread per channel.

A slow or dead channel delays only its own notifications: each channel has its own thread,
sends its rows in order, and after a failure waits out its backoff (2 s doubling to 5 min)
before trying the same row again. After `max_attempts` a row is marked failed, kept in the
outbox, and shown by `rules notify` (which can queue it again)."""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable
from contextlib import closing
from pathlib import Path

from rulesengine.notify.channels import Resolved, deliver
from rulesengine.notify.outbox import Outbox

log = logging.getLogger("rulesengine.notify")

Send = Callable[[Resolved, str, str, str, str], str | None]


class Dispatcher:
    def __init__(
        self,
        journal_path: Path,
        channels: Iterable[Resolved],
        *,
        send: Send = deliver,
        poll: float = 0.5,
        max_attempts: int = 24,
        backoff: tuple[float, float] = (2.0, 300.0),
        clock: Callable[[], float] = time.time,
    ):
        self.path = journal_path
        self.send = send
        self.poll = poll
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.clock = clock
        self.channels: dict[str, Resolved] = {}
        self._threads: dict[str, tuple[threading.Thread, threading.Event]] = {}
        self.sent = 0
        self.errors: dict[str, str] = {}  # channel -> its last error (redacted)
        self._lock = threading.Lock()
        self._started = False
        self.update(channels)

    # ------------------------------------------------------------ lifecycle
    def update(self, channels: Iterable[Resolved]) -> None:
        """Follow the rules' channels (a reload): new ones start, removed ones stop and their
        waiting rows are dropped with the reason."""
        wanted = {c.name: c for c in channels}
        for name in [n for n in self._threads if n not in wanted]:
            self._stop_channel(name)
        self.channels = wanted
        with closing(self._connect()) as db:
            outbox = Outbox(db)
            outbox.release_stale(self.clock())
            for name in outbox.channels_waiting():
                if name not in wanted:
                    dropped = outbox.drop(name, f"channel '{name}' is no longer in the rules")
                    log.warning("notify: %d notifications for '%s' dropped", dropped, name)
        if self._started:
            self._start_missing()

    def start(self) -> Dispatcher:
        self._started = True
        self._start_missing()
        return self

    def stop(self, drain: float = 0.0) -> int:
        """Stop every channel (after up to `drain` seconds of sending what is due); returns
        the rows still queued, which the next start sends."""
        if drain > 0:
            self.drain(drain)
        for name in list(self._threads):
            self._stop_channel(name)
        self._started = False
        with closing(self._connect()) as db:
            row = db.execute("SELECT COUNT(*) FROM outbox WHERE status='queued'").fetchone()
        return int(row[0])

    def drain(self, timeout: float) -> bool:
        """Wait until no row is due on a running channel; False at the timeout."""
        deadline = time.monotonic() + timeout
        names = tuple(self.channels)
        marks = ",".join("?" for _ in names)
        sql = (
            f"SELECT COUNT(*) FROM outbox WHERE status='queued' AND next_try<=? "
            f"AND channel IN ({marks})"
        )
        with closing(self._connect()) as db:
            while time.monotonic() < deadline:
                if not names or db.execute(sql, (self.clock(), *names)).fetchone()[0] == 0:
                    return True
                time.sleep(0.05)
        return False

    # ------------------------------------------------------------ one channel
    def _start_missing(self) -> None:
        for name, channel in self.channels.items():
            if name in self._threads:
                continue
            stop = threading.Event()
            thread = threading.Thread(
                target=self._run, args=(channel, stop), name=f"notify-{name}", daemon=True
            )
            self._threads[name] = (thread, stop)
            thread.start()

    def _stop_channel(self, name: str) -> None:
        thread, stop = self._threads.pop(name)
        stop.set()
        thread.join(timeout=30)

    def _run(self, channel: Resolved, stop: threading.Event) -> None:
        with closing(self._connect()) as db:
            outbox = Outbox(db)
            while not stop.is_set():
                rows = outbox.due(channel.name, self.clock())
                wait = self.poll
                for row in rows:
                    if stop.is_set():
                        break
                    if not outbox.claim(row.id, self.clock()):
                        continue  # another process on this journal is sending it
                    error = self._send(channel, row)
                    attempts = row.attempts + 1
                    if error is None:
                        outbox.sent(row.id, attempts)
                        with self._lock:
                            self.sent += 1
                            self.errors.pop(channel.name, None)
                        continue
                    self.errors[channel.name] = error
                    if attempts >= self.max_attempts:
                        outbox.failed(row.id, attempts, error)
                        log.warning("notify: %s gave up on %s: %s", channel, row.id, error)
                        continue
                    wait = min(self.backoff[0] * 2 ** (attempts - 1), self.backoff[1])
                    outbox.retry(row.id, attempts, error, self.clock() + wait)
                    log.warning("notify: %s failed (%s); retrying in %.0fs", channel, error, wait)
                    break  # the channel waits out its backoff; its rows keep their order
                stop.wait(wait)

    def _send(self, channel: Resolved, row) -> str | None:
        """One attempt; a channel's own failure, whatever it is, is this row's error."""
        try:
            return self.send(channel, row.id, row.title, row.body, row.severity)
        except Exception as error:  # never let a channel end its thread
            return channel.redact(f"{type(error).__name__}: {error}")

    def _connect(self) -> sqlite3.Connection:
        # autocommit: each mark is its own short write; waits (not fails) on a tick's write
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA busy_timeout=30000")
        return db
