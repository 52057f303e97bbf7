"""What a reload prints: the changed words of each clause, version numbers per file, deletes
and renames; and the pacing of feeds."""

from __future__ import annotations

import asyncio
import time

import pytest

from rulesengine.engine.pace import Pacer, SpeedError, parse_speed
from rulesengine.engine.reload_report import FileVersions, clause_changes, narrowed
from rulesengine.engine.ruleset import load_rules
from tests.engine.harness import PUT_SPREAD


def test_narrowed_shows_the_changed_words_after_a_little_context():
    assert narrowed("credit >= $0.30", "credit >= $0.40") == "credit >= $0.30 -> $0.40"
    assert (
        narrowed("put where a and strike == short.strike - 25 and bid > 0",
                 "put where a and strike == short.strike - 50 and bid > 0")
        == "... == short.strike - 25 -> 50 ..."
    )  # fmt: skip
    assert narrowed("pop >= 65%", "pop >= 65% and iv_rank > 30%") == (
        "pop >= 65% (nothing) -> and iv_rank > 30%"
    )


def test_clause_changes_name_the_section_and_ignore_comments():
    old = "strategy: s\n# a comment\nentry:\n  - credit >= $0.30\n  - pop >= 65%\n"
    new = "strategy: s\n# another comment\nentry:\n  - credit >= $0.40\n  - pop >= 65%\n"
    assert clause_changes(old, new) == ["entry: credit >= $0.30 -> $0.40"]
    added = new.replace("  - pop >= 65%\n", "  - pop >= 65%\n  - width <= 10\n")
    assert clause_changes(new, added) == ["entry: + width <= 10"]
    assert clause_changes(added, new) == ["entry: - width <= 10"]


def test_versions_count_per_file_and_know_deletes_and_renames(tmp_path):
    (tmp_path / "puts.yaml").write_text(PUT_SPREAD)
    other = PUT_SPREAD.replace("strategy: puts", "strategy: other")
    (tmp_path / "other.yaml").write_text(other)
    first = load_rules([tmp_path])
    versions = FileVersions.of(first)
    (tmp_path / "puts.yaml").write_text(PUT_SPREAD.replace("credit >= $0.50", "credit >= $0.60"))
    second = load_rules([tmp_path])
    assert versions.changed(second) == ["puts.yaml"]
    lines = versions.advance(first, second, None)
    assert lines == ["puts.yaml v2 active: entry: credit >= $0.50 -> $0.60"]
    (tmp_path / "other.yaml").rename(tmp_path / "renamed.yaml")
    third = load_rules([tmp_path])
    assert versions.advance(second, third, None) == [
        "other.yaml renamed to renamed.yaml: same rules, still v1"
    ]
    (tmp_path / "renamed.yaml").unlink()
    fourth = load_rules([tmp_path])
    assert versions.advance(third, fourth, None) == [
        "renamed.yaml deleted (was v1); strategy other enters no more, its open positions "
        "keep their rules"
    ]
    assert versions.running("puts.yaml") == "v2"


@pytest.mark.parametrize("text", ["0", "-5", "fast", "nan", "inf"])
def test_a_speed_must_be_positive_or_max(text):
    with pytest.raises(SpeedError, match="positive number"):
        parse_speed(text, 1.0)


def test_speed_defaults_and_max():
    assert parse_speed(None, 1.0) == 1.0 and parse_speed(None, None) is None
    assert parse_speed("max", 1.0) is None and parse_speed("60", None) == 60.0


def test_a_pacer_spaces_ticks_by_interval_over_speed():
    async def three_ticks() -> float:
        pacer = Pacer(speed=600.0, interval_s=60.0)  # a minute per 0.1 s
        started = time.monotonic()
        for _ in range(3):
            await pacer(None)  # type: ignore[arg-type]
        return time.monotonic() - started

    assert asyncio.run(three_ticks()) >= 0.2  # the first tick does not wait, the next two do
