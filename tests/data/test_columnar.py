"""The columnar reader gives the row reader's columns on a clean file, and hands any file with
a damaged row to the row reader (which names the row)."""

from __future__ import annotations

import re

import numpy as np
import pytest

from rulesengine.data import columnar, rows
from rulesengine.data.chain import COLUMNS
from rulesengine.data.formats import load_chain
from rulesengine.data.normalised import _row, save
from tests.conftest import ROOT


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    path = tmp_path_factory.mktemp("columnar") / "spx.csv"
    save(load_chain(ROOT / "data" / "spx" / "spx_sample_ivolatility.csv"), path)
    return path


def test_a_clean_file_reads_the_same_both_ways(written):
    fast = columnar.load_columns(written)
    slow, warnings = rows.load_columns(written, _row, COLUMNS)
    assert fast is not None and not warnings
    for name in COLUMNS:
        if fast[name].dtype.kind == "f":
            np.testing.assert_array_equal(fast[name], slow[name])
        else:
            assert np.array_equal(fast[name], slow[name]), name
    chain = load_chain(written)
    assert len(chain) == len(slow["strike"]) and not chain.warnings


@pytest.mark.parametrize(
    ("damage", "warning"),
    [
        (lambda line: line.rsplit(",", 3)[0], "fields where the header has"),
        (lambda line: re.sub(r",(put|call),", ",pt,", line, count=1), "expected C or P"),
        (lambda line: line.replace(",2011-01-03,", ",2011-13-03,", 1), "not an ISO date"),
        (None, "duplicate of line 5"),
    ],
    ids=["short_row", "unknown_type", "bad_date", "duplicate"],
)
def test_a_damaged_row_goes_to_the_row_reader_which_names_it(written, tmp_path, damage, warning):
    lines = written.read_text().splitlines()
    lines[5] = damage(lines[5]) if damage is not None else lines[4]
    path = tmp_path / "damaged.csv"
    path.write_text("\n".join(lines) + "\n")
    assert columnar.load_columns(path) is None
    chain = load_chain(path)
    assert any("damaged.csv:6:" in w and warning in w for w in chain.warnings), chain.warnings
