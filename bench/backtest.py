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
    rules_test()
