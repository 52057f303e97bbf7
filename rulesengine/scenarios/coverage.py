"""Clause coverage across scenarios: which conditions never decided anything.

A clause is decisive when, somewhere in the scenarios, it held for a row (a contract, a
candidate, a position, the account) and failed for another. One that never rejected anything
or never passed anything is untested on one side; one never evaluated is untested on both."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from rulesengine.engine.tally import ClauseTally
from rulesengine.scenarios.runner import ScenarioRun

# engine-made funnel steps, not clauses a trader wrote
IMPLICIT = ("valid two-sided quote", "prefer:")


@dataclass
class Coverage:
    scenarios: int = 0
    tally: ClauseTally = field(default_factory=ClauseTally)

    def add(self, run: ScenarioRun) -> None:
        self.scenarios += 1
        for file, clauses in run.clauses.items():
            for clause in clauses:  # known even when never evaluated
                self.tally.add(file, clause, 0, 0)
        for (file, clause), (held, failed) in run.checks.items():
            if not clause.startswith("universe ") and not any(m in clause for m in IMPLICIT):
                self.tally.add(file, clause, held, failed)

    @property
    def files(self) -> list[str]:
        return sorted({file for file, _ in self.tally})

    def undecisive(self, file: str) -> list[tuple[str, str, list[int]]]:
        """(clause, verdict, [held, failed]) for every clause that was never decisive."""
        out = []
        for (owner, clause), (held, failed) in self.tally.items():
            if owner != file:
                continue
            if held and failed:
                continue
            verdict = "never evaluated"
            if held:
                verdict = "never fired" if _monitored(clause) else "never rejected"
            elif failed:
                verdict = "never held" if _monitored(clause) else "never passed"
            out.append((clause, verdict, [held, failed]))
        return out

    def report(self) -> str:
        lines = [f"clause coverage over {self.scenarios} scenario(s)"]
        for file in self.files:
            total = sum(1 for owner, _ in self.tally if owner == file)
            weak = self.undecisive(file)
            lines.append(f"{_display(file)}: {total - len(weak)} of {total} clauses decisive")
            width = max((len(c) for c, _, _ in weak), default=0)
            for clause, verdict, (held, failed) in weak:
                tally = (
                    "" if verdict == "never evaluated" else f"  (held {held:,}, failed {failed:,})"
                )
                lines.append(f"  {verdict:<16} {clause:<{width}}{tally}")
        return "\n".join(lines)


def coverage_of(runs: Iterable[ScenarioRun]) -> Coverage:
    coverage = Coverage()
    for run in runs:
        coverage.add(run)
    return coverage


def _monitored(clause: str) -> bool:
    return clause.startswith(("exit ", "breaker ", "roll.when"))


def _display(file: str) -> str:
    try:
        return str(Path(file).resolve().relative_to(Path.cwd()))
    except ValueError:
        return file
