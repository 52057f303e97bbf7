"""Hot reload: on a save, check and compile the rules off to the side; on any error keep the
running version and print the diagnostics exactly as `rules lint` does; on success print what
the new rules would select differently on the last chain (the shadow diff) and swap between
ticks."""

from __future__ import annotations

import asyncio
import io
import time
from collections.abc import Callable
from pathlib import Path

from rulesengine.check.summary import print_text
from rulesengine.engine.loop import Engine
from rulesengine.engine.ruleset import RulesError, RuleSet, load_rules
from rulesengine.strategies.scan import DEFAULT_SCALARS, candidate_records, scan

SHADOW_TOP = 5


class Reloader:
    def __init__(self, engine: Engine, paths: list[str], say: Callable[[str], None]):
        self.engine = engine
        self.paths = paths
        self.say = say
        self.lock = asyncio.Lock()  # held by the tick runner: swaps happen between ticks
        self.last_ms: float | None = None

    async def attempt(self) -> bool:
        """One reload; True when the new rules became active."""
        started = time.perf_counter()
        now = self.engine.clock.now()
        try:
            rules = load_rules(self.paths)
        except RulesError as error:
            self._failed(error, now)
            return False
        diff = shadow_diff(self.engine.rules, rules, self.engine)
        async with self.lock:
            self.engine.swap_rules(rules)
        self.last_ms = (time.perf_counter() - started) * 1000
        lines = diff or ["no selection changes on the last chain"]
        self.say(f"rules reloaded (version {rules.version}, {self.last_ms:.0f} ms):")
        for line in lines:
            self.say(f"  {line}")
        return True

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
        self.engine.alert(
            now, "reload", "rule change rejected; the running rules stay active until it checks"
        )
        self.engine.journal.commit()

    async def watch(self, stop: asyncio.Event) -> None:
        from watchfiles import awatch

        roots = [p for p in self.paths if Path(p).exists()]
        async for changes in awatch(*roots, debounce=50, step=20, stop_event=stop):
            if any(Path(path).suffix in {".yaml", ".yml"} for _, path in changes):
                await self.attempt()


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
    result = scan(compiled.program, compiled.graph, chain, DEFAULT_SCALARS)
    records = candidate_records(result, compiled.program, chain, SHADOW_TOP)
    return {
        " / ".join(
            f"{'-' if leg['side'] == 'sell' else '+'}{leg['symbol'].strip()}" for leg in r["legs"]
        )
        for r in records
    }
