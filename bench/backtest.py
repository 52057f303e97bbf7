"""Backtest and scenario-test benchmarks. One line per measurement; figures go to the README.

backtest synthetic_year days=<n> contracts_per_day=<c> total_s=<x> (generate, replay, report)
backtest sweep variants=4 workers=2 wall_s=<x>                 SPX week, short.delta grid
rules_test wall_s=<x>                                          `rules test rules/`, a fresh process
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rulesengine.backtest.report import write_report  # noqa: E402
from rulesengine.backtest.run import run_backtest  # noqa: E402
from rulesengine.backtest.runners import LocalRunner  # noqa: E402
from rulesengine.backtest.sweep import Job, backtest_job, parse_axis, variants  # noqa: E402
from rulesengine.engine.replay import open_replay  # noqa: E402
from rulesengine.engine.ruleset import load_rules  # noqa: E402

RULES = ROOT / "rules"
THREE = ["bull_put_spread", "bear_call_spread", "iron_condor"]


def synthetic_year() -> None:
    start = time.perf_counter()
    source = open_replay("synthetic:2018-01-01:2018-12-31:7")
    generated = time.perf_counter() - start
    rules = load_rules([RULES / f"{name}.yaml" for name in THREE] + [RULES / "risk.yaml"])
    per_day = len(source.chain) / len(source.days())
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        result = run_backtest(rules, source, Path(tmp))
        replayed = time.perf_counter() - start
        start = time.perf_counter()
        write_report(result, Path(tmp))
        reported = time.perf_counter() - start
    total = generated + replayed + reported
    print(
        f"backtest synthetic_year days={len(result.days)} contracts_per_day={per_day:,.0f} "
        f"trades={result.overall.trades} total_s={total:.1f} (generate={generated:.1f} "
        f"replay={replayed:.1f} report={reported:.1f})"
    )


def sweep() -> None:
    grid = variants(
        [str(RULES / "bull_put_spread.yaml")], [parse_axis("short.delta=-0.30..-0.15:0.05")]
    )
    jobs = [Job(label, tuple(sorted(t.items())), "spx", None, None) for label, t in grid]
    start = time.perf_counter()
    list(LocalRunner(2).map(backtest_job, jobs))
    print(f"backtest sweep variants={len(jobs)} workers=2 wall_s={time.perf_counter() - start:.1f}")


def dask_scaling(count: int = 8, span: tuple[str, str] = ("2018-01-01", "2018-03-31")) -> None:
    """The same sweep on a Dask LocalCluster of 1 and of 2 workers, in one run: the wall-time
    ratio and whether the two rank the variants the same."""
    from rulesengine.backtest.runners import DaskRunner
    from rulesengine.backtest.selection import rank

    values = ",".join(f"{-0.32 + 0.02 * i:.2f}" for i in range(count))
    grid = variants([str(RULES / "bull_put_spread.yaml")], [parse_axis(f"short.delta={values}")])
    data = f"synthetic:{span[0]}:{span[1]}:7"
    jobs = [Job(label, tuple(sorted(t.items())), data, None, None) for label, t in grid]
    walls, orders, metrics = [], [], []
    for workers in (1, 2):
        start = time.perf_counter()
        results = list(DaskRunner(workers).map(backtest_job, jobs))
        walls.append(time.perf_counter() - start)
        orders.append([r["label"] for r in rank(results, "sharpe")])
        metrics.append({r["label"]: (r.get("sharpe"), r.get("trades")) for r in results})
    print(
        f"backtest dask_sweep variants={count} span={span[0]}..{span[1]} "
        f"one_worker_s={walls[0]:.1f} two_workers_s={walls[1]:.1f} "
        f"ratio={walls[1] / walls[0]:.2f} "
        f"same_results={_same(metrics[0], metrics[1])} same_ranking={orders[0] == orders[1]}"
    )


def _same(a: dict, b: dict) -> bool:
    """Variant for variant, the same metrics (NaN equal to NaN)."""
    return a.keys() == b.keys() and all(repr(a[k]) == repr(b[k]) for k in a)


def rules_test() -> None:
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "rulesengine.cli.main", "test", str(RULES)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    wall = time.perf_counter() - start
    passed = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else done.stderr
    print(f"rules_test wall_s={wall:.1f} exit={done.returncode} ({passed})")


if __name__ == "__main__":
    synthetic_year()
    sweep()
    dask_scaling(32, ("2018-01-01", "2018-12-31"))  # the size: about 8 minutes
    rules_test()
