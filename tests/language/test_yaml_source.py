import pytest

from rulesengine.language.errors import SourceError
from rulesengine.language.yaml_source import load


def position_of(text: str, key: str, word: str):
    doc = load(text)
    node = doc.root.get(key)
    index = str(node.value).index(word)
    return doc.lines.position(node.source_offset(index))


@pytest.mark.parametrize(
    ("text", "line", "col"),
    [
        ("k: a > 1 and delat < 2\n", 1, 14),
        ("k: 'a > 1 and delat < 2'\n", 1, 15),
        ('k: "a > 1 and delat < 2"\n', 1, 15),
        ("k: a > 1\n   and delat < 2\n", 2, 8),
        ('k: "a > 1 and\n    delat < 2"\n', 2, 5),
        ("k: |\n  a > 1\n  delat < 2\n", 3, 3),
        ("k: >\n  a > 1 and\n  delat < 2\n", 3, 3),
        ("k: 'it''s and delat'\n", 1, 15),
    ],
)
def test_columns_are_exact_inside_every_scalar_style(text, line, col):
    position = position_of(text, "k", "delat")
    assert (position.line, position.col) == (line, col)


def test_duplicate_keys_are_recorded():
    doc = load("a: 1\nb: 2\na: 3\n")
    assert [name for name, _ in doc.duplicates] == ["a"]


def test_yaml_errors_carry_a_position_and_hint():
    with pytest.raises(SourceError) as caught:
        load("legs:\n  short: put where a: b\n")
    assert caught.value.code == "E001"
    assert "quoted" in caught.value.hint
