"""Parameter sweeps: one backtest per point of a grid, run in parallel, ranked by a metric.

`--vary short.delta=-0.30..-0.15:0.05` sets the target of leg `short` for `delta`: its
`prefer delta nearest X` becomes each value, and a `delta between a and b` range on the same leg
moves with it, keeping its width. `--vary NAME=...` replaces the `let` NAME. Values are
`A..B:STEP` (inclusive) or a comma list. Each variant's rule text is checked like any other.

The grid runs behind `SweepRunner` (a `map` over picklable jobs; see backtest/runners.py):
processes on this machine, or a Dask cluster. Each finished variant is appended to the sweep's
log, so an interrupted sweep resumes with the variants already done."""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import math
import os
import re
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from rulesengine.backtest.run import run_backtest
from rulesengine.backtest.runners import SweepRunner
from rulesengine.engine.replay import open_replay
from rulesengine.engine.ruleset import RulesError, load_rules
from rulesengine.language.files import rule_files

NUMBER = r"-?\d+(?:\.\d+)?"


class SweepError(Exception):
    """A --vary the rules can't take; the message says what to write instead."""


@dataclass(frozen=True)
class Axis:
    target: str  # leg.field or a let name
    values: tuple[float, ...]


@dataclass(frozen=True)
class Job:
    """One variant: the rule files' text, and where the market comes from."""

    label: str
    texts: tuple[tuple[str, str], ...]  # (file name, text)
    data: str
    start: str | None
    end: str | None
    timeout: float | None = None  # seconds; the variant stops replaying past it

    @property
    def key(self) -> str:
        """What the variant is (rules, data, span): a resumed sweep skips keys already done."""
        text = json.dumps([self.texts, self.data, self.start, self.end], sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def parse_axis(spec: str) -> Axis:
    target, sep, values = spec.partition("=")
    if not sep or not target.strip() or not values.strip():
        raise SweepError(f"--vary {spec}: expected NAME=A..B:STEP or NAME=A,B,C")
    return Axis(target.strip(), _values(spec, values.strip()))


def _values(spec: str, text: str) -> tuple[float, ...]:
    ranged = re.fullmatch(rf"({NUMBER})\.\.({NUMBER}):({NUMBER})", text)
    stepless = re.fullmatch(rf"({NUMBER})\.\.({NUMBER})", text)
    if stepless is not None:
        low, high = stepless.groups()
        raise SweepError(
            f"--vary {spec}: a range needs a step: {low}..{high}:STEP, e.g. "
            f"{low}..{high}:{_step_for(float(low), float(high))}, or list the values: "
            f"{low},{high}"
        )
    try:
        if ranged is None:
            return tuple(float(v) for v in text.split(","))
    except ValueError:
        raise SweepError(
            f"--vary {spec}: values are a list of numbers (-0.30,-0.25,-0.20) or a range "
            f"A..B:STEP (-0.30..-0.20:0.05); {text!r} is neither"
        ) from None
    start, stop, step = (float(g) for g in ranged.groups())
    if step <= 0 or stop < start:
        raise SweepError(f"--vary {spec}: need A <= B and a positive STEP")
    count = math.floor((stop - start) / step + 1e-9) + 1
    if count > 200:
        raise SweepError(f"--vary {spec}: {count} values; keep a sweep under 200 per axis")
    return tuple(round(start + i * step, 10) for i in range(count))


def _step_for(low: float, high: float) -> str:
    span = abs(high - low) or 1.0
    return f"{span / 4:g}"


def variants(paths: Sequence[str], axes: Sequence[Axis]) -> list[tuple[str, dict[str, str]]]:
    """(label, {file name: text}) for every point of the grid."""
    files = rule_files(list(paths))
    base = {f.name: f.read_text(encoding="utf-8") for f in files}
    out = []
    for point in itertools.product(*(axis.values for axis in axes)):
        texts = dict(base)
        for axis, value in zip(axes, point, strict=True):
            texts = _apply(texts, axis.target, value)
        label = ", ".join(f"{a.target}={v:g}" for a, v in zip(axes, point, strict=True))
        out.append((label, texts))
    return out


def _apply(texts: dict[str, str], target: str, value: float) -> dict[str, str]:
    names = {_strategy_of(text) for text in texts.values()}
    strategy, inner = _split_strategy(target)
    first, _, rest = target.partition(".")
    if strategy is None and first in names and "." not in rest:
        strategy, inner = first, rest  # bull_put_spread.spread_pct: a strategy's let
    changed = {}
    for name, text in texts.items():
        if strategy is not None and _strategy_of(text) != strategy:
            continue
        setter = _set_leg_target if "." in inner else _set_let
        new = setter(text, inner, value)
        if new is not None:
            changed[name] = new
    if len(changed) > 1:
        owners = ", ".join(sorted(_strategy_of(texts[n]) or n for n in changed))
        raise SweepError(
            f"--vary {target}: several strategies have it ({owners}); name one, "
            f"e.g. --vary {sorted(_strategy_of(texts[n]) or n for n in changed)[0]}.{inner}=..."
        )
    if not changed:
        known = settable(texts)
        listed = ", ".join(known[:8]) + (", ..." if len(known) > 8 else "")
        raise SweepError(
            f"--vary {target}: nothing in the rules to vary by that name; these rules can "
            f"vary: {listed or 'nothing (no `let:` numbers, no `prefer X nearest N`)'}"
        )
    return {**texts, **changed}


def settable(texts: dict[str, str]) -> list[str]:
    """What `--vary` can set: each leg's `prefer FIELD nearest N` and each numeric `let`."""
    out = []
    for text in texts.values():
        strategy = _strategy_of(text)
        prefix = f"{strategy}." if strategy else ""
        for leg, field in re.findall(
            rf"^[ \t]+(\w+):[^\n]*(?:\n[ \t]+[^\n:]*)*?prefer\s+(\w+)\s+nearest\s+{NUMBER}",
            text,
            re.MULTILINE,
        ):
            out.append(f"{prefix}{leg}.{field}")
        lets = re.search(r"^let:[ \t]*\n((?:[ \t]+.*\n?)*)", text, re.MULTILINE)
        for name in re.findall(
            rf"^[ \t]+(\w+)[ \t]*:[ \t]*{NUMBER}[ \t]*$",
            lets.group(1) if lets else "",
            re.MULTILINE,
        ):
            out.append(f"{prefix}{name}")
    return sorted(set(out))


def _split_strategy(target: str) -> tuple[str | None, str]:
    """`bull_put_spread.short.delta` -> (bull_put_spread, short.delta); `short.delta` and
    `spread_pct` (a let) name no strategy; `bull_put_spread.spread_pct` does."""
    parts = target.split(".")
    if len(parts) == 3:
        return parts[0], ".".join(parts[1:])
    return None, target


def _strategy_of(text: str) -> str | None:
    found = re.search(r"^(?:strategy|portfolio):[ \t]*([A-Za-z0-9_]+)", text, re.MULTILINE)
    return found.group(1) if found else None


def _set_leg_target(text: str, target: str, value: float) -> str | None:
    """The text with the leg's target set, or None when the file has no such leg target."""
    leg, _, field = target.partition(".")
    block = leg_block(text, leg)
    if block is None:
        return None
    start, end = block
    body = text[start:end]
    prefer = re.search(rf"prefer\s+{re.escape(field)}\s+nearest\s+({NUMBER})", body)
    if prefer is None:
        return None
    old = float(prefer.group(1))
    body = body[: prefer.start(1)] + f"{value:g}" + body[prefer.end(1) :]

    def shift(m: re.Match) -> str:
        low, high = float(m.group(2)) + value - old, float(m.group(3)) + value - old
        return f"{m.group(1)}{low:.4g} and {high:.4g}"

    body = re.sub(rf"({re.escape(field)}\s+between\s+)({NUMBER})\s+and\s+({NUMBER})", shift, body)
    return text[:start] + body + text[end:]


def leg_block(text: str, leg: str) -> tuple[int, int] | None:
    """The span of `  LEG: ...` under `legs:`, with its continuation lines."""
    legs = re.search(r"^legs:\s*$", text, re.MULTILINE)
    if legs is None:
        return None
    head = re.compile(rf"^([ \t]+){re.escape(leg)}[ \t]*:", re.MULTILINE).search(text, legs.end())
    if head is None:
        return None
    indent = len(head.group(1).strip("\n"))
    first, *rest = text[head.end() :].splitlines(keepends=True) or [""]
    end = head.end() + len(first)
    for line in rest:
        stripped = line.lstrip(" ")
        if stripped.strip() and len(line) - len(stripped) <= indent:
            break
        end += len(line)
    return head.start(), end


def _set_let(text: str, name: str, value: float) -> str | None:
    lets = re.search(r"^let:[ \t]*\n", text, re.MULTILINE)
    if lets is None:
        return None
    line = re.compile(rf"^([ \t]+{re.escape(name)}[ \t]*:[ \t]*)(.+)$", re.MULTILINE)
    found = line.search(text, lets.end())
    if found is None:
        return None
    return text[: found.start(2)] + f"{value:g}" + text[found.end(2) :]


# ---------------------------------------------------------------- running a variant
def backtest_job(job: Job) -> dict:
    """Run one variant (in a worker process) and return its label and metrics; past its time
    limit it stops replaying and reports where."""
    deadline = None if job.timeout is None else time.monotonic() + job.timeout
    with tempfile.TemporaryDirectory(prefix="rules-sweep-") as tmp:
        rules_dir = Path(tmp) / "rules"
        rules_dir.mkdir()
        for name, text in job.texts:
            (rules_dir / name).write_text(text, encoding="utf-8")
        try:
            rules = load_rules([rules_dir])
        except RulesError as error:
            problems = [d.message for r in error.results for d in r.errors][:3]
            return {"label": job.label, "error": f"{error}: {'; '.join(problems)}"}
        source = open_replay(job.data).between(
            date.fromisoformat(job.start) if job.start else None,
            date.fromisoformat(job.end) if job.end else None,
        )
        late = (lambda: time.monotonic() > deadline) if deadline is not None else None
        result = run_backtest(rules, source, Path(tmp) / "run", should_stop=late)
    if late is not None and late():
        return {
            "label": job.label,
            "error": f"timed out after {job.timeout:g} s (replayed {len(result.days)} of "
            f"{len(source.days())} days)",
        }
    return {"label": job.label, **result.overall.as_dict()}


class SweepLog:
    """The sweep's results as they finish, one JSON line each (flushed and synced), so an
    interrupted sweep resumes with every variant already done."""

    def __init__(self, path: Path):
        self.path = path

    def done(self) -> dict[str, dict]:
        """Results by job key; a line cut off by a crash is ignored (its variant runs again)."""
        found: dict[str, dict] = {}
        if not self.path.exists():
            return found
        for line in self.path.read_text(encoding="utf-8").splitlines():
            with contextlib.suppress(json.JSONDecodeError, KeyError, TypeError):
                entry = json.loads(line)
                found[entry["key"]] = entry["result"]
        return found

    def add(self, key: str, result: dict) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a", encoding="utf-8") as out:
            out.write(json.dumps({"key": key, "result": result}, default=_plain) + "\n")
            out.flush()
            os.fsync(out.fileno())


def _plain(value: object) -> object:
    return None if isinstance(value, float) and math.isnan(value) else str(value)


def run_sweep(
    jobs: Sequence[Job],
    runner: SweepRunner,
    log: SweepLog | None = None,
    on_result: Callable[[dict], None] = lambda result: None,
) -> list[dict]:
    """Every variant's result in job order: those the log already has, then the rest from
    the runner (each logged as it finishes). Failed variants are kept with their error."""
    done = log.done() if log is not None else {}
    by_label = {job.label: job for job in jobs}
    todo = [job for job in jobs if job.key not in done]
    for result in runner.map(backtest_job, todo):
        job = by_label[result["label"]]
        done[job.key] = result
        if log is not None:
            log.add(job.key, result)
        on_result(result)
    return [done[job.key] for job in jobs if job.key in done]
