"""Choosing variants: constraints, random search, walk-forward window arithmetic and the
walk-forward itself on the real SPX week."""

from __future__ import annotations

import math
from datetime import date
from itertools import pairwise

import pytest

from rulesengine.backtest.heatmap import grid_points, write_heatmap
from rulesengine.backtest.runners import LocalRunner
from rulesengine.backtest.search import bayes_search
from rulesengine.backtest.selection import (
    Search,
    SelectionError,
    best,
    parse_constraint,
    parse_search,
    rank,
    sample,
)
from rulesengine.backtest.sweep import Job, parse_axis, variants
from rulesengine.backtest.walkforward import (
    WalkForwardError,
    Window,
    parse_spec,
    shifted,
    summary,
    walk_forward,
    windows,
)
from rulesengine.cli.main import main
from tests.conftest import ROOT

METRICS = ("trades", "sharpe", "max_drawdown", "total_return")
RESULTS = [
    {"label": "a", "sharpe": 1.0, "trades": 40, "max_drawdown": 0.20},
    {"label": "b", "sharpe": 2.0, "trades": 10, "max_drawdown": 0.05},
    {"label": "c", "sharpe": 0.5, "trades": 35, "max_drawdown": 0.08},
    {"label": "d", "sharpe": math.nan, "trades": 0, "max_drawdown": 0.0},
    {"label": "e", "error": "boom"},
]


def test_constraints_rank_the_variants_that_meet_them_first():
    need = [parse_constraint("trades>=30", METRICS), parse_constraint("max_drawdown<=10%", METRICS)]
    assert need[1].value == pytest.approx(0.10)
    ranked = rank(RESULTS, "sharpe", need)
    assert [r["label"] for r in ranked] == ["c", "b", "a", "d", "e"]
    assert ranked[1]["failed"] == ["trades>=30"] and ranked[2]["failed"] == ["max_drawdown<=10%"]
    assert best(RESULTS, "sharpe", need)["label"] == "c"
    assert best(RESULTS, "sharpe")["label"] == "b"
    assert best(RESULTS, "sharpe", [parse_constraint("trades>100", METRICS)]) is None


@pytest.mark.parametrize(
    ("text", "message"),
    [("trades>>3", "METRIC OP NUMBER"), ("trade>=3", "no metric 'trade'; one of")],
)
def test_a_constraint_that_cannot_be_read_says_how(text, message):
    with pytest.raises(SelectionError, match=message):
        parse_constraint(text, METRICS)


def test_random_search_samples_the_grid_the_same_way_for_a_seed():
    points = list(range(40))
    assert parse_search("random:5:7") == Search("random", 5, 7) and parse_search(None) is None
    assert parse_search("bayes:12") == Search("bayes", 12, 0)
    chosen = sample(points, 5, 7)
    assert chosen == sample(points, 5, 7) and len(set(chosen)) == 5 and chosen == sorted(chosen)
    assert sample(points, 50, 1) == points
    with pytest.raises(SelectionError, match="random:N"):
        parse_search("bayes")


def test_bayesian_search_runs_its_trial_budget_once_per_point(tmp_path):
    pytest.importorskip("optuna")
    files = [str(ROOT / "rules" / "bull_put_spread.yaml")]
    axes = [parse_axis("short.delta=-0.30,-0.25,-0.20,-0.15")]
    jobs = [
        Job(label, tuple(sorted(t.items())), "spx", None, None)
        for label, t in variants(files, axes)
    ]
    ran: list[str] = []
    results = bayes_search(
        axes,
        jobs,
        LocalRunner(2),
        "total_return",
        6,
        seed=3,
        on_result=lambda r: ran.append(r["label"]),
    )
    assert len(ran) == len(set(ran)) <= 4  # 6 trials over 4 points: each point runs once
    assert {r["label"] for r in results} == set(ran) and all("error" not in r for r in results)
    again = bayes_search(axes, jobs, LocalRunner(2), "total_return", 6, seed=3)
    assert [r["label"] for r in again] == [r["label"] for r in results]  # the same for a seed


def test_window_arithmetic():
    assert shifted(date(2018, 1, 31), (1, "m")) == date(2018, 2, 28)  # month ends clamp
    assert shifted(date(2018, 3, 15), (1, "y")) == date(2019, 3, 15)
    assert parse_spec("train=6m,test=1m") == ((6, "m"), (1, "m"))
    spans = windows(date(2018, 1, 1), date(2018, 12, 31), (6, "m"), (1, "m"))
    assert len(spans) == 6  # tests July .. December
    assert spans[0] == Window(
        (date(2018, 1, 1), date(2018, 6, 30)), (date(2018, 7, 1), date(2018, 7, 31))
    )
    assert spans[-1].test == (date(2018, 12, 1), date(2018, 12, 31))
    assert all(a.test[1] < b.test[1] for a, b in pairwise(spans))
    with pytest.raises(WalkForwardError, match="no window fits"):
        windows(date(2018, 1, 1), date(2018, 3, 1), (6, "m"), (1, "m"))
    with pytest.raises(WalkForwardError, match="train=LENGTH,test=LENGTH"):
        parse_spec("6m/1m")


def test_walk_forward_chooses_in_sample_and_scores_out_of_sample():
    files = [str(ROOT / "rules" / "bull_put_spread.yaml")]
    grid = variants(files, [parse_axis("short.delta=-0.30,-0.20")])
    jobs = [Job(label, tuple(sorted(t.items())), "spx", None, None) for label, t in grid]
    spans = windows(date(2011, 1, 3), date(2011, 1, 7), (3, "d"), (1, "d"))
    assert len(spans) == 2
    steps = walk_forward(jobs, spans, LocalRunner(2), "total_return")
    assert [s.chosen for s in steps] == [
        s.chosen for s in steps if s.chosen in {j.label for j in jobs}
    ]
    for step in steps:
        assert step.test_result is not None and math.isfinite(step.out_of_sample)
    totals = summary(steps)
    assert totals["windows"] == 2 and totals["chosen"] == 2
    assert totals["out_of_sample"] == pytest.approx(sum(s.out_of_sample for s in steps) / 2)


def test_the_command_writes_the_windows(tmp_path, capsys):
    argv = ["backtest", str(ROOT / "rules" / "bull_put_spread.yaml"), "--vary",
            "short.delta=-0.30,-0.20", "--walk-forward", "train=3d,test=1d", "--rank",
            "total_return", "--out", str(tmp_path)]  # fmt: skip
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "walk-forward: 2 windows x 2 variants" in out and "out-of-sample" in out
    rows = (tmp_path / "walk_forward.csv").read_text().splitlines()
    assert rows[0].startswith("train_start,train_end,test_start,test_end,chosen") and len(rows) == 3
    assert main([*argv[:-4], "--walk-forward", "train=1y,test=1m", "--out", str(tmp_path)]) == 2
    assert "no window fits" in capsys.readouterr().err


def test_the_heat_map_draws_the_grid(tmp_path):
    results = [
        {"label": f"short.delta={d:g}, spread_pct={s:g}", "sharpe": d * 10 + s}
        for d in (-0.3, -0.2)
        for s in (0.2, 0.3)
    ] + [{"label": "short.delta=-0.1, spread_pct=0.2", "error": "boom"}]
    assert grid_points(results[0]["label"]) == {"short.delta": -0.3, "spread_pct": 0.2}
    path = write_heatmap(results, "sharpe", tmp_path / "map.png")
    assert path is not None and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert write_heatmap(results[-1:], "sharpe", tmp_path / "none.png") is None
    page = (tmp_path / "map.html").read_text()
    # rows from the highest y down; best green (hue 120), worst red (hue 0); the failed blank
    assert page.index("<th>0.3</th><td") < page.index("<th>0.2</th><td")
    best, worst = max(r["sharpe"] for r in results[:4]), min(r["sharpe"] for r in results[:4])
    assert f"hsl(120,65%,72%)'>{best:.4g}</td>" in page
    assert f"hsl(0,65%,72%)'>{worst:.4g}</td>" in page
    assert "class='failed'>-</td>" in page and "http" not in page
