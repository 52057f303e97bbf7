"""`rules review --suggest` and `--apply`: the decision on fake sweep results (which variant
wins out of sample), and end to end on the SPX week: a suggestion saved, applied through the
checker with a diff, and refused once the file changed."""

from __future__ import annotations

import json
import shutil
from datetime import date

import pytest

from rulesengine.backtest.suggest import (
    CURRENT,
    SuggestError,
    apply,
    current_value,
    neighbours,
    step_for,
    suggest,
)
from rulesengine.backtest.walkforward import windows
from rulesengine.cli.main import main
from tests.conftest import RULES

SPANS = windows(date(2011, 1, 3), date(2011, 1, 7), (3, "d"), (1, "d"))


class Scripted:
    """A SweepRunner whose variants score what the test says (by label), no backtest run."""

    def __init__(self, score):
        self.score = score

    def map(self, fn, jobs):
        for job in jobs:
            yield {"label": job.label, "trades": 3, "total_return": self.score(job)}


@pytest.fixture
def folder(tmp_path):
    shutil.copy(RULES / "bull_put_spread.yaml", tmp_path)
    return tmp_path


def test_steps_and_current_values(folder):
    assert step_for(-0.25) == 0.05 and step_for(45) == 5 and step_for(300) == 30
    text = (folder / "bull_put_spread.yaml").read_text()
    assert current_value(text, "bull_put_spread.short.delta", "bull_put_spread") == -0.25
    grid, _ = neighbours([str(folder)], "bull_put_spread")
    assert [label for label, _ in grid] == [
        CURRENT,
        "bull_put_spread.short.delta=-0.3",
        "bull_put_spread.short.delta=-0.2",
    ]


def test_a_variant_that_wins_out_of_sample_becomes_a_suggestion(folder):
    def score(job):
        return 0.02 if "delta=-0.2" in job.label else 0.01

    verdict = suggest(
        [str(folder)], "bull_put_spread", "spx", SPANS, Scripted(score), "total_return"
    )
    s = verdict.suggestion
    assert s is not None and s.change == "bull_put_spread.short.delta=-0.2"
    assert (s.out_of_sample, s.current_out_of_sample, s.windows_won, s.windows) == (
        0.02,
        0.01,
        2,
        2,
    )
    assert "prefer delta nearest -0.2" in s.new_text and s.old_text != s.new_text


def test_a_tie_or_an_in_sample_only_winner_keeps_the_current_rules(folder):
    def in_sample_only(job):  # best when trained on, worse on every test window
        trained = job.start != job.end  # a training window spans 3 days, a test 1
        return (0.05 if trained else -0.01) if "delta=-0.3" in job.label else 0.0

    verdict = suggest(
        [str(folder)], "bull_put_spread", "spx", SPANS, Scripted(in_sample_only), "total_return"
    )
    assert verdict.suggestion is None
    assert "does not beat the current rules out of sample" in verdict.lines[-1]
    flat = suggest(
        [str(folder)], "bull_put_spread", "spx", SPANS, Scripted(lambda j: 0.0), "total_return"
    )
    assert flat.suggestion is None and flat.lines[-1].endswith("keep them")


def test_apply_writes_through_the_checker_and_refuses_a_changed_file(folder):
    def score(job):
        return 0.02 if "delta=-0.2" in job.label else 0.01

    s = suggest(
        [str(folder)], "bull_put_spread", "spx", SPANS, Scripted(score), "total_return"
    ).suggestion
    assert s is not None
    path, diff = apply(s, [str(folder)])
    assert (
        "-         prefer delta nearest -0.25" in diff
        and "+         prefer delta nearest -0.2" in diff
    )
    assert path.read_text() == s.new_text
    with pytest.raises(SuggestError, match="changed since"):
        apply(s, [str(folder)])
    broken = s.__class__(
        **{**s.__dict__, "old_text": s.new_text, "new_text": "strategy: x\nlegs: 1\n"}
    )
    with pytest.raises(SuggestError, match="does not check"):
        apply(broken, [str(folder)])
    assert path.read_text() == s.new_text  # nothing written


@pytest.mark.slow
def test_review_suggest_then_apply_end_to_end(folder, week_journal, tmp_path, capsys):
    data = tmp_path / "data"
    shutil.copytree(week_journal, data)
    args = ["review", str(folder), "--data-dir", str(data), "--suggest"]
    assert main(args) == 0  # one closed trade of 30: nothing searched
    assert "0 of 30 closed trades" in capsys.readouterr().out
    wide = [
        *args,
        "--min-trades",
        "0",
        "--walk-forward",
        "train=3d,test=1d",
        "--rank",
        "total_return",
    ]
    assert main(wide) == 0
    out = capsys.readouterr().out
    assert "3 variants (the current rules and each number one step either side)" in out
    assert out.rstrip().endswith("nothing was changed")
    saved = sorted((data / "suggestions").glob("s-*.json"))
    for path in saved:  # whatever the week says, a saved suggestion applies cleanly
        ident = json.loads(path.read_text())["id"]
        assert main(["review", str(folder), "--data-dir", str(data), "--apply", ident]) == 0
        assert "a running engine hot-reloads it" in capsys.readouterr().out
    assert main(["review", str(folder), "--data-dir", str(data), "--apply", "s-nope"]) == 1
    assert "no suggestion s-nope" in capsys.readouterr().err
