"""What a reload changed, one line per rule file, as a trader reads it:

    spx_ema_cross_5m.yaml v2 active: entry: credit >= $0.40 -> credit >= $0.30; on the last
    snapshot: 0 -> 1 candidates (+1)

Files are numbered v1, v2, ... from the engine's start, each time their text changes. A deleted
file's strategy stops entering (its open positions keep the rules they were opened with); a
renamed file with the same rules is a rename, not a change.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path

from rulesengine.data.chain import Chain
from rulesengine.engine.ruleset import Compiled, RuleSet
from rulesengine.strategies.scan import DEFAULT_SCALARS, ScanResult, scan

MAX_CHANGES = 3  # clause changes shown per file; more are counted


def _files(rules: RuleSet) -> dict[str, Compiled]:
    return {Path(c.program.file).name: c for c in rules.every()}


@dataclass
class FileVersions:
    """Each rule file's version number since the engine started."""

    numbers: dict[str, int] = field(default_factory=dict)
    hashes: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, rules: RuleSet) -> FileVersions:
        versions = cls()
        for name, compiled in _files(rules).items():
            versions.numbers[name], versions.hashes[name] = 1, compiled.version
        return versions

    def running(self, name: str) -> str:
        return f"v{self.numbers[name]}" if name in self.numbers else "no version"

    def changed(self, new: RuleSet) -> list[str]:
        """Running files the new rules change or drop."""
        after = _files(new)
        return sorted(
            name
            for name in self.numbers
            if name not in after or after[name].version != self.hashes.get(name)
        )

    def advance(self, old: RuleSet, new: RuleSet, chain: Chain | None) -> list[str]:
        """Number the changed files and describe each change (one line per file)."""
        before, after = _files(old), _files(new)
        lines: list[str] = []
        renamed = _renames(before, after)
        for old_name, new_name in renamed.items():
            self.numbers[new_name] = self.numbers.pop(old_name, 1)
            self.hashes[new_name] = self.hashes.pop(old_name, after[new_name].version)
            lines.append(
                f"{old_name} renamed to {new_name}: same rules, still {self.running(new_name)}"
            )
        for name in sorted(set(before) - set(after) - set(renamed)):
            what = before[name]
            tail = (
                f"; strategy {what.name} enters no more, its open positions keep their rules"
                if what.program.kind == "strategy"
                else ""
            )
            lines.append(f"{name} deleted (was {self.running(name)}){tail}")
            self.numbers.pop(name, None)
            self.hashes.pop(name, None)
        for name in sorted(after):
            compiled = after[name]
            if name in renamed.values() or self.hashes.get(name) == compiled.version:
                continue
            self.numbers[name] = self.numbers.get(name, 0) + 1
            self.hashes[name] = compiled.version
            previous = before.get(name)
            lines.append(
                f"{name} {self.running(name)} active: " + _change(previous, compiled, chain)
            )
        return lines


def _renames(before: dict[str, Compiled], after: dict[str, Compiled]) -> dict[str, str]:
    gone = {c.version: n for n, c in before.items() if n not in after}
    return {gone[c.version]: n for n, c in after.items() if n not in before and c.version in gone}


def _change(old: Compiled | None, new: Compiled, chain: Chain | None) -> str:
    parts = ["new file"] if old is None else clause_changes(old.program.text, new.program.text)
    if new.program.kind == "strategy" and chain is not None:
        parts.append(candidate_change(old, new, chain))
    return "; ".join(parts) or "comments or layout only"


def clause_changes(old_text: str, new_text: str) -> list[str]:
    """Changed lines as `section: old -> new` (comments and blank lines ignored)."""
    old_lines, new_lines = _meaningful(old_text), _meaningful(new_text)
    matcher = difflib.SequenceMatcher(a=[t for _, t in old_lines], b=[t for _, t in new_lines])
    out: list[str] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        removed = [old_lines[i] for i in range(i1, i2)]
        added = [new_lines[j] for j in range(j1, j2)]
        for k in range(max(len(removed), len(added))):
            was = removed[k] if k < len(removed) else None
            now = added[k] if k < len(added) else None
            either = now or was
            section = either[0] if either else ""
            if was and now:
                out.append(f"{section}: {narrowed(was[1], now[1])}")
            elif now:
                out.append(f"{section}: + {now[1]}")
            elif was:
                out.append(f"{section}: - {was[1]}")
    if len(out) > MAX_CHANGES:
        out = [*out[:MAX_CHANGES], f"{len(out) - MAX_CHANGES} more changes"]
    return out


def narrowed(old: str, new: str, context: int = 3) -> str:
    """`credit >= $0.30 -> $0.40`: the words that differ, after a little shared context."""
    a, b = old.split(), new.split()
    head = 0
    while head < min(len(a), len(b)) and a[head] == b[head]:
        head += 1
    tail = 0
    while tail < min(len(a), len(b)) - head and a[-1 - tail] == b[-1 - tail]:
        tail += 1
    shared = a[max(head - context, 0) : head]
    lead = ("... " if head > context else "") + " ".join(shared)
    was = " ".join(a[head : len(a) - tail]) or "(nothing)"
    now = " ".join(b[head : len(b) - tail]) or "(nothing)"
    trail = " ..." if tail else ""
    return f"{lead + ' ' if lead else ''}{was} -> {now}{trail}"


def _meaningful(text: str) -> list[tuple[str, str]]:
    """(top-level section, line text) of every line that is not a comment or blank."""
    section = ""
    out = []
    for raw in text.splitlines():
        line = raw.split(" #")[0].rstrip() if not raw.lstrip().startswith("#") else ""
        if not line.strip():
            continue
        if not raw[:1].isspace():
            section = line.split(":", 1)[0]
            body = line.split(":", 1)[1].strip() if ":" in line else ""
            if body:
                out.append((section, body))
            continue
        out.append((section, line.strip().removeprefix("- ")))
    return out


def candidate_change(old: Compiled | None, new: Compiled, chain: Chain) -> str:
    before = _candidates(old, chain)
    after = _candidates(new, chain)
    delta = after - before
    sign = f" ({delta:+d})" if delta else ", no change"
    return f"on the last snapshot: {before} -> {after} candidates{sign}"


def _candidates(compiled: Compiled | None, chain: Chain) -> int:
    return 0 if compiled is None else len(shadow_scan(compiled, chain))


def shadow_scan(compiled: Compiled, chain: Chain) -> ScanResult:
    """A strategy's scan of the last chain at default scalars, once per rule version and
    chain (the shadow diff and the candidate count read the same scan)."""
    key = ("shadow_scan", compiled.version, compiled.name)
    found = chain.memo.get(key)
    if found is None:
        found = scan(compiled.program, compiled.graph, chain, DEFAULT_SCALARS)
        chain.memo[key] = found
    return found
