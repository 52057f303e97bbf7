"""Any bytes in a rule file give diagnostics, never a traceback."""

from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from rulesengine.check.checker import check_file, check_text
from tests.conftest import RULES

EXAMPLES = [p.read_text() for p in sorted(RULES.glob("*.yaml"))]
PIECES = [
    "(",
    ")",
    " and ",
    " or ",
    "$",
    "%",
    "->",
    ":",
    "\n",
    "  ",
    "- ",
    "'",
    '"',
    "#",
    "[",
    "]",
    "{",
    "}",
    "*",
    "&",
    "!",
    "\t",
    "not ",
    " between ",
    "\u00e9",
    "\x00",
    "5m",
    "short.",
    "1e309",
    "1e400",
    " !!timestamp 2011-13-45",
    " !!bool maybe",
    " !!int 0x",
    " !!float x",
    " &a [1, 2]",
    " *a",
    "9" * 4400,
    '"\\x41\\x41"',
]


@st.composite
def mutated(draw):
    text = draw(st.sampled_from(EXAMPLES))
    for _ in range(draw(st.integers(1, 6))):
        at = draw(st.integers(0, len(text)))
        action = draw(st.sampled_from(["insert", "delete", "replace"]))
        piece = draw(st.one_of(st.sampled_from(PIECES), st.text(max_size=4)))
        if action == "insert":
            text = text[:at] + piece + text[at:]
        elif action == "delete":
            text = text[:at] + text[at + draw(st.integers(1, 20)) :]
        else:
            text = text[:at] + piece + text[at + len(piece) :]
    return text


def assert_well_formed(result, text):
    lines = text.count("\n") + 2
    for d in result.diagnostics:
        assert 1 <= d.line <= lines and d.col >= 1
        assert d.code and d.message
        assert d.code != "E000", d.message  # the catch-all: a checker bug, not a diagnostic


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutated_examples_never_crash(text):
    assert_well_formed(check_text(text), text)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
@example(b"{}")  # an empty mapping once reached for a first key that isn't there
def test_arbitrary_bytes_never_crash(tmp_path_factory, data):
    path = Path(tmp_path_factory.mktemp("fuzz")) / "r.yaml"
    path.write_bytes(data)
    result = check_file(path)
    text = data.decode("utf-8", errors="replace")
    assert_well_formed(result, text)


def test_no_code_execution_from_rule_files():
    text = "strategy: t\nlegs:\n  short: put where __import__('os').system('true')\n"
    result = check_text(text)
    assert result.program is None
    assert {d.code for d in result.errors} <= {"E101", "E102", "E103"}
    assert (
        check_text("strategy: !!python/object/apply:os.system ['true']\n").errors[0].code == "E001"
    )


BASE = "strategy: s\nuniverse: [SPX]\nlegs:\n  short: put where delta > -0.3\n"
ALIAS_BOMB = "a: &a [x,x,x,x,x,x,x,x,x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [" + ",".join([f"*{chr(97 + i)}"] * 9) + "]\n" for i in range(9)
)  # 300 bytes that expand to 9**10 values
HOSTILE = {
    "timestamp": (BASE + "let:\n  a: !!timestamp 2011-13-45\n", "E001", "as timestamp"),
    "int": (BASE + "let:\n  a: !!int 0x\n", "E001", "as int"),
    "bool": (BASE + "let:\n  a: !!bool maybe\n", "E001", "as bool"),
    "timestamp text": (BASE + "let:\n  a: !!timestamp 2011-13-45 every 1m\n", "E001", "timestamp"),
    "huge int": (BASE + "size:\n  contracts: " + "9" * 5000 + "\n", "E001", "4300 digits"),
    "1e400": (BASE + "entry:\n  - ema(close, 1e400) > 0\n", "E204", "too large a number"),
    "1e300": (BASE + "entry:\n  - ema(close, 1e300) > 0\n", "E104", "whole number of bars"),
    "alias bomb": (ALIAS_BOMB, "E001", "expands to more than 50,000 YAML values"),
    "deep": ("a: " + "[" * 60 + "]" * 60 + "\n", "E001", "nested more than 40 levels"),
    "huge file": (
        "strategy: s\nlet:\n" + "".join(f"  k{i}: 1\n" for i in range(30_000)),
        "E002",
        "limited to 256000",
    ),
    "many keys": (  # under the size cap: was 135 s (quadratic), now one diagnostic
        "strategy: s\nlet:\n" + "".join(f"  k{i}: 1\n" for i in range(20_000)),
        "E001",
        "a mapping with 20,000 keys; rule files allow 1,000",
    ),
}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_hostile_rule_files_get_a_diagnostic_not_an_internal_error(tmp_path, name):
    """Issue 13: each of these was exit 3 (internal error), or minutes and gigabytes."""
    text, code, says = HOSTILE[name]
    path = tmp_path / "hostile.yaml"
    path.write_text(text)
    result = check_file(path)
    assert any(d.code == code and says in d.message for d in result.errors), [
        (d.code, d.message) for d in result.diagnostics
    ]


def test_quoted_escapes_are_aligned_in_linear_time():
    """41 KB of escapes took 51 s (the source walk was quadratic); now it is one pass."""
    text = 'strategy: s\ndescription: "' + "\\x41" * 10_000 + '"\n'
    result = check_text(text)
    assert {d.code for d in result.errors} == {"E011"}  # only: a strategy needs legs


def test_one_bad_file_never_hides_the_others_errors(tmp_path, capsys):
    from rulesengine.cli.main import main

    (tmp_path / "a_bomb.yaml").write_text(HOSTILE["alias bomb"][0])
    (tmp_path / "b_bool.yaml").write_text(HOSTILE["bool"][0])
    (tmp_path / "c_typo.yaml").write_text(BASE + "entry:\n  - credt > 1\n")
    assert main(["lint", str(tmp_path)]) == 1
    err = capsys.readouterr()
    text = err.out + err.err
    assert "internal error" not in text
    for name in ("a_bomb.yaml", "b_bool.yaml", "c_typo.yaml"):
        assert name in text
    assert "unknown name 'credt'" in text
