"""The `paper:` section of a portfolio file: the paper account the rules are meant for."""

from __future__ import annotations

from brokers.paper.settings import AccountSettings, SettingsError
from rulesengine.check.program import Program
from rulesengine.language.model import PaperSection


def check_paper(section: PaperSection, program: Program, where, result) -> None:
    """Portfolio files only, and settings that describe a possible account (E011)."""
    if program.kind != "portfolio":
        result.add(
            "E011",
            "the paper account is set in a portfolio file, not a strategy",
            where,
            "move `paper:` to a portfolio file such as risk.yaml",
        )
        return
    values = section.model_dump()
    try:
        AccountSettings.from_json(values)
    except SettingsError as error:
        result.add("E011", f"paper: {error}", where, None)
        return
    program.paper = values
