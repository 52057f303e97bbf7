"""Sweep runners: the local process runner and Dask (a real LocalCluster of processes, and the
in-process client) give the same results variant for variant; a variant that raises or runs
out of time is reported and the sweep goes on; an interrupted sweep resumes."""

from __future__ import annotations

import json
import math
import sys

import pytest

from rulesengine.backtest.runners import DaskRunner, LocalRunner, RunnerError
from rulesengine.backtest.sweep import Job, SweepLog, backtest_job, parse_axis, run_sweep, variants
from rulesengine.cli.main import main
from tests.conftest import ROOT

RULES = ROOT / "rules"
pytest.importorskip("distributed")


def jobs_for(values: str, data: str = "spx", timeout: float | None = None) -> list[Job]:
    files = [str(RULES / "bull_put_spread.yaml")]
    grid = variants(files, [parse_axis(f"short.delta={values}")])
    return [Job(label, tuple(sorted(t.items())), data, None, None, timeout) for label, t in grid]


def by_label(results) -> dict[str, dict]:
    return {r["label"]: r for r in results}


def same_metrics(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(
        (isinstance(x, float) and math.isnan(x) and math.isnan(b[k])) or x == b[k]
        for k, x in a.items()
    )


@pytest.fixture(scope="module")
def local_results():
    return by_label(LocalRunner(2).map(backtest_job, jobs_for("-0.30,-0.25,-0.20")))


@pytest.mark.parametrize("processes", [True, False], ids=["local_cluster", "in_process"])
def test_dask_gives_the_local_runners_results_variant_for_variant(local_results, processes):
    dask = by_label(
        DaskRunner(2, processes=processes).map(backtest_job, jobs_for("-0.30,-0.25,-0.20"))
    )
    assert dask.keys() == local_results.keys() and len(dask) == 3
    for label, result in local_results.items():
        assert "error" not in result, result
        assert same_metrics(dask[label], result), label


def test_a_failing_or_late_variant_is_reported_and_the_sweep_goes_on():
    good = jobs_for("-0.25")
    broken = Job("outside the data", good[0].texts, "synthetic:2030-01-01:2030-02-01", None, None)
    late = jobs_for("-0.20", data="synthetic:2018-01-01:2018-12-31", timeout=1.0)
    for runner in (LocalRunner(2), DaskRunner(2, processes=False)):
        results = by_label(runner.map(backtest_job, [*good, broken, *late]))
        assert "error" not in results[good[0].label]
        assert "ReplayError" in results["outside the data"]["error"]
        assert "the S&P 500 path runs" in results["outside the data"]["error"]
        assert results[late[0].label]["error"].startswith("timed out after 1 s (replayed")


def test_an_interrupted_sweep_resumes_with_what_was_done(tmp_path):
    jobs = jobs_for("-0.30,-0.25,-0.20")
    log = SweepLog(tmp_path / "sweep.jsonl")
    first = run_sweep(jobs[:2], LocalRunner(2), log)  # "interrupted" after two variants
    with open(log.path, "a", encoding="utf-8") as out:
        out.write('{"key": "cut off by a cra')  # a crash mid-write: ignored
    ran: list[str] = []
    again = run_sweep(jobs, LocalRunner(2), log, lambda r: ran.append(r["label"]))
    assert ran == [jobs[2].label]  # only the variant not done
    assert [r["label"] for r in again] == [j.label for j in jobs]  # in job order
    assert same_metrics(again[0], first[0]) and same_metrics(again[1], first[1])
    keys = {json.loads(line)["key"] for line in log.path.read_text().splitlines()[:2]}
    assert keys == {jobs[0].key, jobs[1].key}  # logged as they finished


def test_the_command_resumes_and_restarts(tmp_path, capsys):
    argv = ["backtest", str(RULES / "bull_put_spread.yaml"), "--vary", "short.delta=-0.25,-0.2",
            "--out", str(tmp_path)]  # fmt: skip
    assert main(argv) == 0
    assert "log " in capsys.readouterr().out
    assert main(argv) == 0
    assert "resuming: 2 already done" in capsys.readouterr().out
    assert main([*argv, "--restart"]) == 0
    assert "resuming" not in capsys.readouterr().out


def test_a_scheduler_that_does_not_answer_is_a_clear_error(capsys):
    runner = DaskRunner(address="tcp://127.0.0.1:9")
    with pytest.raises(RunnerError, match="no Dask scheduler answers"):
        list(runner.map(backtest_job, jobs_for("-0.25")))


def test_dask_or_optuna_missing_says_which_extra_to_install(monkeypatch):
    from rulesengine.backtest.search import bayes_search
    from rulesengine.backtest.selection import SelectionError

    monkeypatch.setitem(sys.modules, "dask.distributed", None)  # an import of it now fails
    with pytest.raises(RunnerError, match=r"pip install 'rulesengine\[distributed\]'"):
        list(DaskRunner().map(backtest_job, jobs_for("-0.25")))
    monkeypatch.setitem(sys.modules, "optuna", None)
    axes = [parse_axis("short.delta=-0.25")]
    with pytest.raises(SelectionError, match=r"pip install 'rulesengine\[search\]'"):
        bayes_search(axes, jobs_for("-0.25"), LocalRunner(1), "sharpe", 1)
