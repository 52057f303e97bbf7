"""Walk-forward validation: choose a variant on each training window, score it on the unseen
window after it, and compare in-sample with out-of-sample so overfitting shows.

`--walk-forward train=6m,test=1m` over `--from 2018-01-01 --to 2018-12-31`: windows start at
the first day and move by the test length; each runs every variant on [start, start+train),
ranks them (with `--rank` and `--require`), and backtests the best on [start+train,
start+train+test). Lengths are `Nd` (calendar days), `Nw`, `Nm` (calendar months), `Ny`.
"""

from __future__ import annotations

import calendar
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta

from rulesengine.backtest.runners import SweepRunner
from rulesengine.backtest.selection import Constraint, best
from rulesengine.backtest.sweep import Job, run_sweep


class WalkForwardError(ValueError):
    """A walk-forward spec the command cannot take; the message says what to write."""


@dataclass(frozen=True)
class Window:
    train: tuple[date, date]  # inclusive
    test: tuple[date, date]


@dataclass
class Step:
    window: Window
    chosen: str | None  # the variant's label, or None when none qualified
    in_sample: float  # the chosen variant's metric on its training window
    out_of_sample: float  # ... on the test window
    test_result: dict | None = None


def parse_length(text: str) -> tuple[int, str]:
    found = re.fullmatch(r"(\d+)([dwmy])", text.strip())
    if found is None or int(found.group(1)) < 1:
        raise WalkForwardError(f"'{text}': a length is Nd, Nw, Nm or Ny, e.g. 6m")
    return int(found.group(1)), found.group(2)


def shifted(day: date, length: tuple[int, str]) -> date:
    count, unit = length
    if unit == "d":
        return day + timedelta(days=count)
    if unit == "w":
        return day + timedelta(weeks=count)
    months = count if unit == "m" else 12 * count
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def parse_spec(text: str) -> tuple[tuple[int, str], tuple[int, str]]:
    parts = dict(part.split("=", 1) for part in text.split(",") if "=" in part)
    if set(parts) != {"train", "test"}:
        raise WalkForwardError(
            f"--walk-forward {text}: write train=LENGTH,test=LENGTH, e.g. train=6m,test=1m"
        )
    try:
        return parse_length(parts["train"]), parse_length(parts["test"])
    except WalkForwardError as error:
        raise WalkForwardError(f"--walk-forward {text}: {error}") from None


def windows(start: date, end: date, train: tuple[int, str], test: tuple[int, str]) -> list[Window]:
    """Every (train, test) pair whose test window ends by `end`, moving by the test length."""
    out = []
    first = start
    while True:
        test_start = shifted(first, train)
        test_end = shifted(test_start, test) - timedelta(days=1)
        if test_end > end:
            break
        out.append(Window((first, test_start - timedelta(days=1)), (test_start, test_end)))
        first = shifted(first, test)
    if not out:
        raise WalkForwardError(
            f"no window fits {start}..{end}: train and test together are longer than the data"
        )
    return out


def walk_forward(
    jobs: Sequence[Job],
    spans: Sequence[Window],
    runner: SweepRunner,
    by: str,
    constraints: Sequence[Constraint] = (),
    on_step: Callable[[Step], None] = lambda step: None,
) -> list[Step]:
    """Choose on each training window, score on its test window."""
    steps = []
    for window in spans:
        train = [replace(j, start=str(window.train[0]), end=str(window.train[1])) for j in jobs]
        chosen = best(run_sweep(train, runner), by, constraints)
        if chosen is None:
            step = Step(window, None, math.nan, math.nan)
        else:
            job = next(j for j in jobs if j.label == chosen["label"])
            test_job = replace(job, start=str(window.test[0]), end=str(window.test[1]))
            tested = run_sweep([test_job], runner)[0]
            step = Step(window, job.label, chosen[by], metric_of(tested, by), tested)
        steps.append(step)
        on_step(step)
    return steps


def metric_of(result: dict, by: str) -> float:
    """A variant's metric as a float (NaN when it has none: no trades, or it failed)."""
    value = result.get(by)
    return float(value) if isinstance(value, int | float) else math.nan


def summary(steps: Sequence[Step]) -> dict[str, float]:
    """Mean in-sample and out-of-sample metric over the windows that chose a variant, and
    their ratio when in-sample is positive (walk-forward efficiency: near 1 generalises, near
    0 or negative overfits)."""
    chosen = [s for s in steps if s.chosen is not None]
    inside = [s.in_sample for s in chosen if math.isfinite(s.in_sample)]
    outside = [s.out_of_sample for s in chosen if math.isfinite(s.out_of_sample)]
    mean_in = sum(inside) / len(inside) if inside else math.nan
    mean_out = sum(outside) / len(outside) if outside else math.nan
    # a ratio to a loss says nothing: efficiency only over a positive in-sample figure
    efficiency = mean_out / mean_in if inside and outside and mean_in > 0 else math.nan
    return {
        "windows": float(len(steps)),
        "chosen": float(len(chosen)),
        "in_sample": mean_in,
        "out_of_sample": mean_out,
        "efficiency": efficiency,
    }
