"""The rules the engine runs: every rule file checked and compiled, with a version per file."""

from __future__ import annotations

import difflib
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from brokers.paper.settings import AccountSettings
from rulesengine.check.checker import CheckResult, check_file
from rulesengine.check.program import Program
from rulesengine.compile import compile_program
from rulesengine.compile.graph import Graph
from rulesengine.language.files import rule_files


@dataclass(frozen=True)
class Compiled:
    """One rule file: its program, its graph and its version (a hash of its text)."""

    program: Program
    graph: Graph
    version: str

    @property
    def name(self) -> str:
        return self.program.name


@dataclass(frozen=True)
class RuleSet:
    strategies: dict[str, Compiled] = field(default_factory=dict)
    portfolios: tuple[Compiled, ...] = ()
    results: tuple[CheckResult, ...] = ()
    paper: AccountSettings | None = None  # the paper account a portfolio file asks for

    @property
    def version(self) -> str:
        """One version for the whole set, for status lines."""
        parts = sorted(c.version for c in (*self.strategies.values(), *self.portfolios))
        return hashlib.sha256("".join(parts).encode()).hexdigest()[:12]

    def every(self) -> list[Compiled]:
        return [*self.portfolios, *self.strategies.values()]

    def holdings_group(self, strategy: str) -> tuple[str, ...]:
        """The strategies whose assigned shares `strategy` reads, covers and delivers."""
        compiled = self.strategies.get(strategy)
        return (strategy, *(compiled.program.holdings_from if compiled else ()))

    def scan_on_assignment(self, assigned: str) -> list[str]:
        """Strategies whose scan an assignment to `assigned` triggers (`on_assignment`)."""
        return [
            name
            for name, c in self.strategies.items()
            if c.program.on_assignment == "scan" and assigned in self.holdings_group(name)
        ]


class RulesError(Exception):
    """Rule files that do not check: the diagnostics say what to fix."""

    def __init__(self, results: list[CheckResult], message: str = ""):
        self.results = results
        broken = [r for r in results if r.errors]
        super().__init__(message or f"{len(broken)} rule file(s) with errors")


def version_of(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def load_rules(paths: Sequence[str | Path], display=None) -> RuleSet:
    """Check and compile every rule file under `paths`; RulesError if any has an error."""
    files = rule_files([str(p) for p in paths])
    results = [check_file(path, display(path) if display else str(path)) for path in files]
    if not results:
        raise RulesError([], f"no rule files under {' '.join(str(p) for p in paths)}")
    if any(r.errors for r in results):
        raise RulesError(results)
    strategies: dict[str, Compiled] = {}
    portfolios: list[Compiled] = []
    for result in results:
        program = result.program
        assert program is not None, "a file that checks has a program"
        compiled = Compiled(program, compile_program(program), version_of(program.text))
        if program.kind == "strategy":
            if program.name in strategies:
                first = strategies[program.name].program.file
                raise RulesError(
                    [],
                    f"two files define strategy '{program.name}': {first} and {program.file}; "
                    "rename one",
                )
            strategies[program.name] = compiled
        else:
            portfolios.append(compiled)
    _check_holdings(strategies)
    return RuleSet(strategies, tuple(portfolios), tuple(results), _paper(portfolios))


def _check_holdings(strategies: dict[str, Compiled]) -> None:
    """`holdings: strategies:` names strategies some file defines."""
    for name, compiled in strategies.items():
        for other in compiled.program.holdings_from:
            if other not in strategies:
                close = difflib.get_close_matches(other, list(strategies), n=1)
                hint = f" (did you mean '{close[0]}'?)" if close else ""
                raise RulesError(
                    [],
                    f"{compiled.program.file}: strategy '{name}' reads the holdings of "
                    f"'{other}', which no rule file defines{hint}",
                )


def _paper(portfolios: list[Compiled]) -> AccountSettings | None:
    """The paper account the portfolio files ask for (one file sets it, or all agree)."""
    asked = [(c.program.file, c.program.paper) for c in portfolios if c.program.paper]
    if not asked:
        return None
    first_file, first = asked[0]
    for file, values in asked[1:]:
        if values != first:
            raise RulesError(
                [], f"two files set the paper account differently: {first_file} and {file}"
            )
    return AccountSettings.from_json(first)
