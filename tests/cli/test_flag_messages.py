"""Issue 16: `--set` and `--vary` refuse what they cannot do, and every form they suggest
works."""

from __future__ import annotations

import pytest

from rulesengine.backtest.sweep import Axis, SweepError, parse_axis, variants
from rulesengine.cli.main import main
from rulesengine.cli.scan import UsageError, parse_sets
from tests.conftest import RULES


@pytest.mark.parametrize(
    ("item", "says"),
    [
        ("net_lq=1", "unknown name 'net_lq'; did you mean 'net_liq'?"),
        ("foo=1", "names that can be set: broker_errors"),
        ("delta=0.3", "'delta' is a contract number value that comes from the chain"),
        ("time=10", "'time' is a portfolio time value"),
        ("net_liq=lots", "expected name=number"),
    ],
)
def test_set_refuses_what_it_cannot_set(item, says):
    with pytest.raises(UsageError, match=says.replace("(", r"\(")):
        parse_sets([item])


def test_set_takes_account_values():
    assert parse_sets(["net_liq=$250,000", "drawdown=5%"]) == {
        "net_liq": 250_000.0,
        "drawdown": 0.05,
    }


def test_every_target_vary_lists_can_be_varied(capsys):
    assert main(["backtest", str(RULES), "--vary", "nothing_here=1,2"]) == 2
    err = capsys.readouterr().err
    listed = err.split("these rules can vary: ")[1].strip().split(", ")
    assert "bull_put_spread.short.delta" in listed
    for target in listed:
        ((label, texts),) = variants([str(RULES)], [Axis(target, (0.2,))])
        assert target in label and texts


@pytest.mark.parametrize(
    ("spec", "says"),
    [
        ("bull_put_spread.short.delta=-0.3..-0.2", "a range needs a step: -0.3..-0.2:STEP"),
        ("bull_put_spread.short.delta=x", "values are a list of numbers"),
    ],
)
def test_vary_value_errors_suggest_a_form_that_works(spec, says):
    with pytest.raises(SweepError, match=says.replace(".", r"\.")) as caught:
        parse_axis(spec)
    suggestion = str(caught.value).split("e.g. ")[-1].split(",")[0]
    target = spec.split("=")[0]
    if ".." in suggestion:
        assert parse_axis(f"{target}={suggestion}").values
