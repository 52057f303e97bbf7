"""Any bytes in a rule file give diagnostics, never a traceback."""

from pathlib import Path

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
