"""Shared fixtures: the real SPX week and a helper to check rule text."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from rulesengine.check.checker import check_text
from rulesengine.data.formats import load_chain

ROOT = Path(__file__).resolve().parents[1]
SPX_FILE = ROOT / "data" / "spx" / "spx_sample_ivolatility.csv"
RULES = ROOT / "rules"


@pytest.fixture(scope="session")
def spx():
    return load_chain(SPX_FILE)


@pytest.fixture(scope="session")
def spx_day(spx):
    return spx.on(date(2011, 1, 3))


def checked(text: str, file: str = "t.yaml"):
    """Check rule text and return the result (program and diagnostics)."""
    return check_text(text, file)


STRATEGY_HEAD = """strategy: t
legs:
  short: put where delta between -0.3 and -0.2
exit:
  stop_loss: pnl <= -2 * entry_credit
"""


@pytest.fixture(scope="session")
def week_journal(tmp_path_factory):
    """The example rules over the real SPX week: a finished run's data directory."""
    from rulesengine.cli.main import main

    data = tmp_path_factory.mktemp("week") / "data"
    assert main(["run", str(RULES), "--data-dir", str(data)]) == 0
    return data
