"""A strategy's universe as a list, `all`, or a list file, through the checker and a scan."""

from __future__ import annotations

from rulesengine.check.checker import check_file
from rulesengine.compile import compile_program
from rulesengine.strategies.scan import scan

BODY = "legs:\n  short: put where delta between -0.3 and -0.2\nexit:\n  stop: pnl <= -$100\n"


def write(tmp_path, universe: str):
    path = tmp_path / "s.yaml"
    path.write_text(f"strategy: s\nuniverse: {universe}\n{BODY}")
    return check_file(path, str(path))


def test_a_list_file_beside_the_rules(tmp_path, spx_day):
    (tmp_path / "names.txt").write_text("# index options\nSPX, NDX\nRUT  # small caps\n\nSPX\n")
    result = write(tmp_path, "file:names.txt")
    assert not result.errors, result.diagnostics
    assert result.program.universe == ("SPX", "NDX", "RUT")
    found = scan(result.program, compile_program(result.program), spx_day)
    step = found.funnel[0]
    assert step.label == "underlying in names.txt (3 symbols)" and step.rows_out == step.rows_in


def test_all_means_every_underlying_in_the_data(tmp_path, spx_day):
    result = write(tmp_path, "all")
    assert not result.errors and result.program.universe == ()
    found = scan(result.program, compile_program(result.program), spx_day)
    assert all(step.stage != "universe" for step in found.funnel)


def test_a_universe_that_cannot_be_read_is_one_clear_error(tmp_path):
    missing = write(tmp_path, "file:nowhere.txt")
    assert [d.code for d in missing.errors] == ["E011"]
    assert "universe file" in missing.errors[0].message
    (tmp_path / "bad.txt").write_text("SPX\nnot a symbol!\n")
    bad = write(tmp_path, "file:bad.txt")
    assert [d.code for d in bad.errors] == ["E011"] and "'symbol!' is not a symbol" in (
        bad.errors[0].message
    )
    assert "write a list, `all`, or `file:PATH`" in write(tmp_path, "everything").errors[0].message


def test_a_live_run_needs_the_underlyings_named(tmp_path, capsys):
    from rulesengine.cli.main import main

    path = tmp_path / "s.yaml"
    path.write_text(f"strategy: s\nuniverse: all\n{BODY}")
    assert main(["run", str(path), "--broker", "alpaca", "--data-dir", str(tmp_path / "d")]) == 2
    err = capsys.readouterr().err
    assert "give s a `universe:` list or file" in err and "Traceback" not in err
