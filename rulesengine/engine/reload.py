"""Hot reload: on a save, wait until the file is stable, then check and compile the rules off
the event loop with a time limit; on any error keep the running version and print the
diagnostics exactly as `rules lint` does; refuse a change that would leave positions without
exits or drop limits and breakers (see reload_safety); on success print what the new rules
would select differently on the last chain (the shadow diff) and swap between ticks."""

from __future__ import annotations

import asyncio
import io
import time
from collections.abc import Callable
from pathlib import Path

from rulesengine.check.summary import print_text
from rulesengine.engine.loop import Engine
from rulesengine.engine.reload_report import FileVersions, shadow_scan
from rulesengine.engine.reload_safety import FORCE_MARKER, unsafe_changes
from rulesengine.engine.ruleset import RulesError, RuleSet, load_rules
from rulesengine.notify.service import Notifier
from rulesengine.strategies.scan import candidate_records

SHADOW_TOP = 5


SETTLE = 0.15  # seconds a changed file must stay unchanged before it is read
MAX_SETTLE = 10.0  # ... but a file still growing after this long is read anyway
CHECK_TIMEOUT = 15.0  # seconds a reload's check may take; ticks never wait for it


class Reloader:
    def __init__(self, engine: Engine, paths: list[str], say: Callable[[str], None]):
        self.engine = engine
        self.paths = paths
        self.say = say
        self.lock = asyncio.Lock()  # held by the tick runner: swaps happen between ticks
        self.last_ms: float | None = None
        self.versions = FileVersions.of(engine.rules)
        self.notifier: Notifier | None = None  # `rules run`: channels follow the rules
        self.last_report: list[str] = []  # what the last attempt said

    async def attempt(self, force: bool = False) -> bool:
        """One reload; True when the new rules became active. What it says is also kept in
        the journal (`reloads`) and in `last_report`, for the API and dashboard."""
        said: list[str] = []
        speak = self.say

        def both(line: str) -> None:
            said.append(line)
            speak(line)

        self.say = both
        try:
            active = await self._attempt(force)
        finally:
            self.say = speak
        self.last_report = said
        journal = self.engine.journal
        journal.record_reload(self.engine.clock.now(), active, self.engine.rules.version, said)
        journal.commit()
        return active

    async def _attempt(self, force: bool) -> bool:
        """The check runs in a thread with a time limit, so a hostile file never stalls the
        ticks."""
        started = time.perf_counter()
        now = self.engine.clock.now()
        try:
            rules = await asyncio.wait_for(asyncio.to_thread(load_rules, self.paths), CHECK_TIMEOUT)
        except RulesError as error:
            self._failed(error, now)
            return False
        except TimeoutError:
            self._refused([f"checking the rules took longer than {CHECK_TIMEOUT:.0f}s"], now)
            return False
        held = [p.strategy for p in self.engine.book.open_positions()]
        if self.notifier is not None:
            unusable = self.notifier.vet(c.program for c in rules.portfolios)
            if unusable:
                self._refused(unusable, now)
                self._still_running(self.versions.changed(rules))
                return False
        problems = unsafe_changes(self.engine.rules, rules, held)
        if problems and not (force or self._forced()):
            self._refused(problems, now, forceable=True)
            self._still_running(self.versions.changed(rules))
            return False
        old = self.engine.rules
        diff = shadow_diff(old, rules, self.engine)
        async with self.lock:
            self.engine.swap_rules(rules)
        if self.notifier is not None:
            self.notifier.apply()
        self.last_ms = (time.perf_counter() - started) * 1000
        changes = self.versions.advance(old, rules, self.engine.market)
        for line in changes or [f"rules reloaded: no rule changed (set {rules.version})"]:
            self.say(line)
        for line in [*(f"forced: {p}" for p in problems), *diff]:
            self.say(f"  {line}")
        self.say(f"  (rules version {rules.version}; checked and swapped in {self.last_ms:.0f} ms)")
        return True

    def _forced(self) -> bool:
        """The trader's say-so for an unsafe change: the marker file, used once."""
        for marker in self._markers():
            if marker.exists():
                marker.unlink(missing_ok=True)
                return True
        return False

    def _markers(self) -> list[Path]:
        roots = {Path(p) if Path(p).is_dir() else Path(p).parent for p in self.paths}
        return [root / FORCE_MARKER for root in sorted(roots)]

    def _refused(self, problems: list[str], now, forceable: bool = False) -> None:
        self.say("rule change refused; the running rules stay active:")
        for problem in problems:
            self.say(f"  {problem}")
        if forceable:
            self.say(f"  to apply it anyway: touch {self._markers()[0]}")
        self.engine.alert(now, "reload", "rule change refused: " + "; ".join(problems))
        self.engine.journal.commit()

    def _failed(self, error: RulesError, now) -> None:
        out = io.StringIO()
        broken = [r for r in error.results if r.errors]
        if broken:
            print_text(broken, out=out)
        else:  # the files check one by one but clash (two define one strategy)
            print(error, file=out)
        text = out.getvalue().rstrip()
        for result in broken:
            self.engine.journal.record_version(
                f"failed-{now.isoformat()}-{result.file}",
                "",
                result.file,
                result.text,
                now,
                "failed",
                text,
            )
        self.say(text)
        self._still_running([Path(r.file).name for r in broken])
        self.engine.alert(
            now, "reload", "rule change rejected; the running rules stay active until it checks"
        )
        self.engine.journal.commit()

    def _still_running(self, names: list[str]) -> None:
        """One line per file the refusal concerns: the version that keeps running."""
        for name in names:
            running = self.versions.running(name)
            self.say(
                f"{name} refused: still running {running}"
                if running != "no version"
                else f"{name} refused: not running (it never checked)"
            )

    async def watch(self, stop: asyncio.Event) -> None:
        """Reload on every save. Nothing a file contains stops the watcher: a failure is
        reported and the next save is watched as usual."""
        from watchfiles import awatch

        roots = [p for p in self.paths if Path(p).exists()]
        async for changes in awatch(*roots, debounce=50, step=20, stop_event=stop):
            changed = [Path(path) for _, path in changes]
            rules = [p for p in changed if p.suffix in {".yaml", ".yml"}]
            if not rules and not any(p.name == FORCE_MARKER for p in changed):
                continue
            try:
                await settled(rules)
                await self.attempt()
            except Exception as error:  # never let one bad save end hot reload
                self.say(f"reload failed ({type(error).__name__}: {error}); still watching")
                self.engine.alert(self.engine.clock.now(), "reload", f"reload failed: {error}")


async def settled(paths: list[Path]) -> None:
    """Wait until the files stop changing (an editor or a copy may write in pieces)."""
    deadline = time.monotonic() + MAX_SETTLE
    last = _stamps(paths)
    while time.monotonic() < deadline:
        await asyncio.sleep(SETTLE)
        now = _stamps(paths)
        if now == last:
            return
        last = now


def _stamps(paths: list[Path]) -> list[tuple[int, int] | None]:
    out: list[tuple[int, int] | None] = []
    for path in paths:
        try:
            stat = path.stat()
            out.append((stat.st_size, stat.st_mtime_ns))
        except OSError:
            out.append(None)
    return out


def shadow_diff(old: RuleSet, new: RuleSet, engine: Engine) -> list[str]:
    """What the new rules select differently from the old on the engine's last chain."""
    chain = engine.market

    def version(rules: RuleSet, name: str) -> str | None:
        compiled = rules.strategies.get(name)
        return compiled.version if compiled else None

    changed_versions = [
        name
        for name in sorted(set(old.strategies) | set(new.strategies))
        if version(old, name) != version(new, name)
    ]
    lines = []
    for name in changed_versions:
        if name not in new.strategies:
            lines.append(f"{name}: removed (open positions keep their rules)")
            continue
        if name not in old.strategies:
            lines.append(f"{name}: added")
        if chain is None:
            continue
        before = _picks(old.strategies.get(name), chain)
        after = _picks(new.strategies[name], chain)
        for legs in after - before:
            lines.append(f"{name}: + {legs}")
        for legs in before - after:
            lines.append(f"{name}: - {legs}")
        if before == after:
            lines.append(f"{name}: changed, same top {SHADOW_TOP} selections")
    return lines


def _picks(compiled, chain) -> set[str]:
    if compiled is None:
        return set()
    result = shadow_scan(compiled, chain)
    records = candidate_records(result, compiled.program, chain, SHADOW_TOP)
    return {
        " / ".join(
            f"{'-' if leg['side'] == 'sell' else '+'}{leg['symbol'].strip()}" for leg in r["legs"]
        )
        for r in records
    }
