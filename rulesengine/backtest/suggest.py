"""`rules review --suggest`: parameter changes proposed only with out-of-sample evidence.

For one strategy: each number `--vary` can set (a leg's `prefer FIELD nearest N`, a numeric
`let`) one step either side of its current value, the current rules among the variants. A
walk-forward chooses a variant on each training window; the variant chosen most often is then
scored on every test window beside the current rules. It becomes a suggestion only when it
beats them out of sample on average and in most windows. A suggestion is saved with the old
and new text; `rules review --apply ID` writes it through the checker, never anything else."""

from __future__ import annotations

import hashlib
import json
import math
import re
import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from rulesengine.backtest.runners import SweepRunner
from rulesengine.backtest.selection import Constraint
from rulesengine.backtest.sweep import NUMBER, Axis, Job, leg_block, run_sweep, settable, variants
from rulesengine.backtest.walkforward import Window, metric_of, walk_forward
from rulesengine.check.checker import check_text
from rulesengine.language.files import rule_files

CURRENT = "current rules"


class SuggestError(Exception):
    """A suggestion that cannot be made or applied; the message says why."""


@dataclass(frozen=True)
class Suggestion:
    id: str
    strategy: str
    change: str  # `bull_put_spread.short.delta=-0.2`
    file: str
    old_text: str
    new_text: str
    metric: str
    in_sample: float
    out_of_sample: float
    current_out_of_sample: float
    windows_won: int
    windows: int

    def describe(self) -> str:
        return (
            f"{self.change}: out of sample {self.metric} {self.out_of_sample:.4g} against "
            f"{self.current_out_of_sample:.4g} for the current rules, better in "
            f"{self.windows_won} of {self.windows} test windows (in sample {self.in_sample:.4g})"
        )


@dataclass(frozen=True)
class Verdict:
    suggestion: Suggestion | None
    lines: list[str]  # what was tried and why nothing (or something) is suggested


def step_for(value: float) -> float:
    """One step of a parameter: 0.05 for a delta-like number, else a tenth of it to one
    significant digit (45 -> 5, 300 -> 30)."""
    if abs(value) < 1:
        return 0.05
    tenth = abs(value) / 10
    magnitude = 10 ** math.floor(math.log10(tenth))
    return math.floor(tenth / magnitude + 0.5) * magnitude


def current_value(text: str, target: str, strategy: str) -> float | None:
    """The number `--vary target` would set, as the file has it now."""
    inner = target.removeprefix(f"{strategy}.")
    if "." in inner:  # a leg's `prefer FIELD nearest N`
        leg, field = inner.split(".", 1)
        block = leg_block(text, leg)
        body = text[block[0] : block[1]] if block else ""
        found = re.search(rf"prefer\s+{re.escape(field)}\s+nearest\s+({NUMBER})", body)
    else:  # a numeric `let`
        lets = re.search(r"^let:[ \t]*\n((?:[ \t]+.*\n?)*)", text, re.MULTILINE)
        body = lets.group(1) if lets else ""
        found = re.search(
            rf"^[ \t]+{re.escape(inner)}[ \t]*:[ \t]*({NUMBER})[ \t]*$", body, re.MULTILINE
        )
    return float(found.group(1)) if found else None


def neighbours(
    paths: Sequence[str], strategy: str
) -> tuple[list[tuple[str, dict[str, str]]], dict[str, str]]:
    """The current rules and each settable number one step either side: (label, texts)."""
    files = rule_files(list(paths))
    texts = {f.name: f.read_text(encoding="utf-8") for f in files}
    own = [t for t in settable(texts) if t.startswith(f"{strategy}.")]
    if not own:
        raise SuggestError(
            f"{strategy} has no number a sweep can set (a leg's `prefer FIELD nearest N` or a "
            "numeric `let`): nothing to suggest"
        )
    found = [(CURRENT, texts)]
    for target in own:
        mine = (t for t in texts.values() if re.search(rf"^strategy:\s*{strategy}\s*$", t, re.M))
        values = (current_value(t, target, strategy) for t in mine)
        base = next((v for v in values if v is not None), None)
        if base is None:
            continue
        step = step_for(base)
        for value in (round(base - step, 10), round(base + step, 10)):
            found += variants(paths, [Axis(target, (value,))])
    return found, texts


def suggest(
    paths: Sequence[str],
    strategy: str,
    data: str,
    spans: Sequence[Window],
    runner: SweepRunner,
    by: str,
    constraints: Sequence[Constraint] = (),
) -> Verdict:
    grid, texts = neighbours(paths, strategy)
    jobs = [Job(label, tuple(sorted(t.items())), data, None, None) for label, t in grid]
    steps = walk_forward(jobs, spans, runner, by, constraints)
    chosen = Counter(s.chosen for s in steps if s.chosen is not None)
    lines = [
        f"{strategy}: {len(jobs)} variants (the current rules and each number one step either "
        f"side) over {len(spans)} walk-forward windows, chosen by {by}",
        *(
            f"  window {s.window.test[0]}..{s.window.test[1]}: chose {s.chosen or 'nothing'} "
            f"(in sample {s.in_sample:.4g}, out of sample {s.out_of_sample:.4g})"
            for s in steps
        ),
    ]
    if not chosen:
        return Verdict(
            None, [*lines, "no variant passed on any training window: nothing to suggest"]
        )
    # the most chosen; on a tie the current rules (a change has to earn its place)
    label = max(chosen, key=lambda name: (chosen[name], name == CURRENT))
    if label == CURRENT:
        return Verdict(None, [*lines, "the current rules were chosen most often: keep them"])
    candidate = next(j for j in jobs if j.label == label)
    current = next(j for j in jobs if j.label == CURRENT)
    tests = [
        replace(j, label=f"{j.label} @ {w.test[0]}", start=str(w.test[0]), end=str(w.test[1]))
        for w in spans
        for j in (candidate, current)
    ]  # labels unique per window: a sweep tells its results apart by label
    scores = [metric_of(r, by) for r in run_sweep(tests, runner)]
    pairs = [(scores[2 * i], scores[2 * i + 1]) for i in range(len(spans))]
    pairs = [(a, b) for a, b in pairs if math.isfinite(a) and math.isfinite(b)]
    if not pairs:
        return Verdict(None, [*lines, f"{label}: no test window gave a {by} to compare"])
    new_oos = statistics.fmean(a for a, _ in pairs)
    old_oos = statistics.fmean(b for _, b in pairs)
    won = sum(1 for a, b in pairs if a > b)
    in_sample = statistics.fmean(s.in_sample for s in steps if s.chosen == label)
    if new_oos <= old_oos or won * 2 <= len(pairs):
        return Verdict(
            None,
            [
                *lines,
                f"{label} was chosen most often but does not beat the current rules out of "
                f"sample ({by} {new_oos:.4g} against {old_oos:.4g}, better in {won} of "
                f"{len(pairs)} windows): keep them",
            ],
        )
    new_texts = dict(candidate.texts)
    (file,) = [n for n in new_texts if new_texts[n] != texts[n]]
    ident = "s-" + hashlib.sha256(f"{label}|{texts[file]}".encode()).hexdigest()[:8]
    found = Suggestion(
        ident, strategy, label, file, texts[file], new_texts[file], by,
        in_sample, new_oos, old_oos, won, len(pairs),
    )  # fmt: skip
    return Verdict(found, [*lines, f"suggestion {ident}: {found.describe()}"])


# ---------------------------------------------------------------- saving and applying
def save(suggestion: Suggestion, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{suggestion.id}.json"
    path.write_text(json.dumps(asdict(suggestion), indent=2) + "\n", encoding="utf-8")
    return path


def load(folder: Path, ident: str) -> Suggestion:
    path = folder / f"{ident}.json"
    if not path.exists():
        known = sorted(p.stem for p in folder.glob("s-*.json")) if folder.exists() else []
        raise SuggestError(
            f"no suggestion {ident} in {folder}"
            + (f" (there: {', '.join(known)})" if known else "")
        )
    return Suggestion(**json.loads(path.read_text(encoding="utf-8")))


def apply(suggestion: Suggestion, paths: Sequence[str]) -> tuple[Path, str]:
    """Write the suggested text over its file: only if the file is still what the suggestion
    was made from and the new text checks. Returns the file and a unified diff."""
    import difflib

    files = {f.name: f for f in rule_files(list(paths))}
    target = files.get(suggestion.file)
    if target is None:
        raise SuggestError(f"{suggestion.file} is not among {', '.join(paths)}")
    now = target.read_text(encoding="utf-8")
    if now != suggestion.old_text:
        raise SuggestError(
            f"{target} changed since {suggestion.id} was made: run `rules review --suggest` again"
        )
    result = check_text(suggestion.new_text, str(target))
    if result.errors:
        problems = "; ".join(d.message for d in result.errors[:3])
        raise SuggestError(f"the suggested text does not check ({problems}); nothing written")
    target.write_text(suggestion.new_text, encoding="utf-8")
    diff = difflib.unified_diff(
        now.splitlines(keepends=True),
        suggestion.new_text.splitlines(keepends=True),
        f"{target} (before)",
        f"{target} ({suggestion.id})",
    )
    return target, "".join(diff)
