"""Issue 13: dirty and damaged chain files get a named rule and a message, never a crash."""

from __future__ import annotations

import csv
import gzip
import io
from datetime import date
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rulesengine.cli.main import main
from rulesengine.data.chain import from_seconds
from rulesengine.data.formats import ChainFileError, load_chain
from rulesengine.data.normalised import save
from tests.conftest import RULES, SPX_FILE

LINES = SPX_FILE.read_text().splitlines()
HEADER = next(csv.reader([LINES[0]]))


def write(tmp_path, rows: list[str], name: str = "chain.csv"):
    path = tmp_path / name
    path.write_text("\n".join([LINES[0], *rows]) + "\n")
    return path


def edited(line: str, **values: str) -> str:
    fields = next(csv.reader([line]))
    for column, value in values.items():
        fields[HEADER.index(column)] = value
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow(fields)
    return out.getvalue()


def first_day(n: int = 400) -> list[str]:
    return LINES[1 : n + 1]


def test_duplicate_contract_rows_keep_the_first_and_name_contract_and_lines(tmp_path):
    rows = first_day()
    twin = edited(rows[10], bid="99.0", ask="99.5")
    path = write(tmp_path, [*rows, twin])
    chain = load_chain(path)
    symbol = next(csv.reader([rows[10]]))[HEADER.index("option_symbol")]
    assert len(chain) == len(rows)
    row = int(np.flatnonzero(chain.columns["symbol"] == symbol)[0])
    assert chain.columns["bid"][row] != 99.0  # the first row wins
    (warning,) = chain.warnings
    assert f"{path}:{len(rows) + 2}: duplicate of line 12 for {symbol.strip()}" in warning
    assert "2011-01-03" in warning


def test_lower_case_call_put_is_read_and_unknown_codes_are_refused_by_line(tmp_path):
    rows = first_day()
    lower = [edited(r, **{"call/put": next(csv.reader([r]))[8].lower()}) for r in rows]
    chain = load_chain(write(tmp_path, lower))
    assert (chain.columns["type"] == 1).sum() == sum(1 for r in rows if ",C,E," in r)
    assert chain.warnings == []
    odd = [*rows[:-1], edited(rows[-1], **{"call/put": "X"})]
    chain = load_chain(write(tmp_path, odd, "odd.csv"))
    assert len(chain) == len(rows) - 1
    assert chain.warnings == [f"{tmp_path / 'odd.csv'}:{len(rows) + 1}: call/put is 'X', "
                              "expected C or P; row skipped"]  # fmt: skip
    bad = [edited(r, **{"call/put": "X"}) for r in rows[:50]] + rows[50:]
    with pytest.raises(ChainFileError, match=r"50 of 400 rows can't be read .*call/put is 'X'"):
        load_chain(write(tmp_path, bad, "bad.csv"))


def test_a_truncated_last_row_is_skipped_with_its_line(tmp_path):
    rows = first_day()
    path = write(tmp_path, [*rows, LINES[401][:40]])
    chain = load_chain(path)
    assert len(chain) == len(rows)
    (warning,) = chain.warnings
    assert (
        warning.startswith(f"{path}:{len(rows) + 2}: ")
        and "fields where the header has 25" in warning
    )


def test_a_truncated_gzip_is_refused_with_what_to_do(tmp_path):
    data = gzip.compress(("\n".join(LINES[:2000]) + "\n").encode())
    path = tmp_path / "chain.csv.gz"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ChainFileError, match=r"ends early .* truncated or damaged: download"):
        load_chain(path)


def test_saturday_expiries_become_the_friday(tmp_path):
    rows = [edited(r, option_expiration="01/22/2011") for r in first_day(5)]
    chain = load_chain(write(tmp_path, rows))
    assert {from_seconds(e) for e in chain.columns["expiry"]} == {date(2011, 1, 21)}
    normal = tmp_path / "normal.csv"
    save(chain, normal)
    text = normal.read_text().replace("2011-01-21", "2011-01-22")
    normal.write_text(text)
    assert {from_seconds(e) for e in load_chain(normal).columns["expiry"]} == {date(2011, 1, 21)}


def test_absurd_prices_load_and_never_trade(tmp_path, capsys):
    """1e200 quotes used to crash the paper broker's preview (decimal.InvalidOperation)."""
    day = [r for r in LINES[1:] if r.split(",")[3] in ("01/03/2011", "01/04/2011")]
    absurd = [edited(r, bid="1e200", ask="1e201") if ",P,E," in r else r for r in day]
    path = write(tmp_path, absurd)
    code = main(["run", str(RULES), "--replay", str(path), "--data-dir", str(tmp_path / "d")])
    out = capsys.readouterr()
    assert code == 0, out.err
    assert "Traceback" not in out.err
    code = main(["scan", str(RULES / "bull_put_spread.yaml"), "--chain", str(path)])
    assert code == 0 and "quote: two-sided, finite, not crossed" in capsys.readouterr().out


PIECES = [
    ",",
    "\n",
    '"',
    "",
    "nan",
    "-1",
    "1e400",
    "1e200",
    "-0",
    "x",
    "\x00",
    "C",
    "p",
    "13/45/2011",
]


@st.composite
def damaged_file(draw) -> bytes:
    lines = list(LINES[: draw(st.integers(2, 60))])
    for _ in range(draw(st.integers(1, 8))):
        row = draw(st.integers(0, len(lines) - 1))
        text = lines[row]
        at = draw(st.integers(0, len(text)))
        action = draw(st.sampled_from(["insert", "delete", "replace", "cut", "duplicate"]))
        piece = draw(st.one_of(st.sampled_from(PIECES), st.text(max_size=3)))
        if action == "insert":
            lines[row] = text[:at] + piece + text[at:]
        elif action == "delete":
            lines[row] = text[:at] + text[at + draw(st.integers(1, 12)) :]
        elif action == "replace":
            lines[row] = text[:at] + piece + text[at + len(piece) :]
        elif action == "cut":
            lines = lines[: row + 1]
            lines[row] = text[:at]
        else:
            lines.insert(row, text)
    data = "\n".join(lines).encode("utf-8", errors="replace")
    if draw(st.booleans()):
        data = gzip.compress(data)
        data = data[: draw(st.integers(len(data) // 2, len(data)))]
    return data


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(damaged_file())
def test_damaged_chain_files_load_or_are_refused_with_a_message(tmp_path_factory, data):
    """Any damage: a Chain (bad rows named by line) or a ChainFileError, never a crash."""
    gz = data[:2] == b"\x1f\x8b"
    path = Path(tmp_path_factory.mktemp("chains")) / ("c.csv.gz" if gz else "c.csv")
    path.write_bytes(data)
    try:
        chain = load_chain(path)
    except ChainFileError as error:
        assert str(error)
        return
    assert len(chain) > 0
    assert all(w.startswith(str(path)) for w in chain.warnings)
    keys = list(zip(chain.columns["quote_date"], chain.columns["symbol"], strict=True))
    assert len(keys) == len(set(keys))  # duplicates resolved
    assert np.isin(chain.columns["type"], (0, 1)).all()
    problems = chain.column("quote_problem")  # absurd prices are screened, never crash
    assert len(problems) == len(chain)


def test_a_header_missing_a_column_names_it(tmp_path):
    header = LINES[0].replace("call/put", "cp")
    path = tmp_path / "renamed.csv"
    path.write_text("\n".join([header, *LINES[1:5]]) + "\n")
    with pytest.raises(ChainFileError, match="no column 'call/put' in the header"):
        load_chain(path)
