"""Bayesian search over a sweep's grid (`--search bayes:N[:SEED]`): Optuna's TPE sampler
proposes points, a batch as wide as the runner's workers at a time, and learns from each
batch's ranking metric. Optuna is an optional extra (`pip install 'rulesengine[search]'`),
imported only here. Variants that fail, have no value or break a `--require` constraint are
told to the sampler as failed trials; a point proposed twice is run once."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from rulesengine.backtest.runners import SweepRunner
from rulesengine.backtest.selection import LOWER_IS_BETTER, Constraint, SelectionError
from rulesengine.backtest.sweep import Axis, Job, SweepLog, run_sweep


def bayes_search(
    axes: Sequence[Axis],
    jobs: Sequence[Job],
    runner: SweepRunner,
    by: str,
    trials: int,
    seed: int = 0,
    constraints: Sequence[Constraint] = (),
    log: SweepLog | None = None,
    on_result: Callable[[dict], None] = lambda result: None,
) -> list[dict]:
    """The results of the variants the search ran, in the order it ran them. `jobs` are the
    grid's points in `variants` order (labels `a=1, b=2`)."""
    try:
        import optuna
    except ImportError:
        raise SelectionError(
            "--search bayes needs Optuna: pip install 'rulesengine[search]'"
        ) from None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    by_label = {job.label: job for job in jobs}
    direction = (
        optuna.study.StudyDirection.MINIMIZE
        if by in LOWER_IS_BETTER
        else optuna.study.StudyDirection.MAXIMIZE
    )
    study = optuna.create_study(direction=direction, sampler=optuna.samplers.TPESampler(seed=seed))
    results: dict[str, dict] = {}
    batch = max(int(getattr(runner, "workers", 1)), 1)
    told = 0
    while told < trials:
        asked = [study.ask() for _ in range(min(batch, trials - told))]
        labels = [_label(axes, trial) for trial in asked]
        fresh = list(dict.fromkeys(label for label in labels if label not in results))
        for result in run_sweep([by_label[label] for label in fresh], runner, log, on_result):
            results[result["label"]] = result
        for trial, label in zip(asked, labels, strict=True):
            value = _usable(results.get(label, {}), by, constraints)
            if value is None:
                study.tell(trial, state=optuna.trial.TrialState.FAIL)
            else:
                study.tell(trial, value)
        told += len(asked)
    return list(results.values())


def _label(axes: Sequence[Axis], trial) -> str:
    """The grid point a trial proposes, as its variant's label."""
    values = [trial.suggest_categorical(axis.target, list(axis.values)) for axis in axes]
    return ", ".join(f"{axis.target}={value:g}" for axis, value in zip(axes, values, strict=True))


def _usable(result: dict, by: str, constraints: Sequence[Constraint]) -> float | None:
    value = result.get(by)
    if "error" in result or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    if not all(c.holds(result) for c in constraints):
        return None
    return float(value)
