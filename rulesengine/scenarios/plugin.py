"""pytest plugin: every scenario in a `scenarios:` YAML file is a test, its decisions a syrupy
snapshot stored as plain text beside it (`tests/__snapshots__/<file>/<scenario>.txt`).

`rules test` runs pytest with this plugin; `pytest rules/tests` runs the same tests, since the
package registers the plugin with pytest. A changed decision fails with an account of what
changed (scenario > tick > strategy > clause) before syrupy's line diff."""

from __future__ import annotations

from pathlib import Path

import pytest
from syrupy.extensions.single_file import SingleFileSnapshotExtension, WriteMode

from rulesengine.scenarios.coverage import Coverage
from rulesengine.scenarios.model import Scenario, ScenarioError, is_scenario_file, load_scenarios
from rulesengine.scenarios.render import explain, render
from rulesengine.scenarios.runner import run_scenario

COVERAGE = pytest.StashKey[Coverage]()


class ScenarioSnapshot(SingleFileSnapshotExtension):
    """One readable text file per scenario, so `git diff` shows decisions changing."""

    _write_mode = WriteMode.TEXT
    file_extension = "txt"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("rulesengine", "rule scenarios")
    group.addoption(
        "--rules-coverage",
        action="store_true",
        help="report rule clauses no scenario made decisive",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.stash[COVERAGE] = Coverage()


def pytest_collect_file(file_path: Path, parent: pytest.Collector):
    if is_scenario_file(file_path):
        return ScenarioFile.from_parent(parent, path=file_path)
    return None


class ScenarioFile(pytest.File):
    def collect(self):
        for scenario in load_scenarios(self.path):
            yield pytest.Function.from_parent(
                self, name=scenario.name, callobj=_scenario_test(scenario, self.path)
            )

    def repr_failure(self, excinfo):  # type: ignore[override]  # as pytest.Collector has it
        if isinstance(excinfo.value, ScenarioError):
            return str(excinfo.value)  # the trader's mistake, said plainly: no traceback
        return super().repr_failure(excinfo)


def _scenario_test(scenario: Scenario, path: Path):
    def scenario_test(snapshot, request) -> None:
        try:
            run, problem = run_scenario(scenario, path), None
        except ScenarioError as error:
            run, problem = None, str(error)
        if problem is not None:  # failed outside the except: no chained traceback shown
            pytest.fail(problem, pytrace=False)
        assert run is not None  # pytest.fail raised otherwise
        request.config.stash[COVERAGE].add(run)
        text = render(run)
        snapshot = snapshot.use_extension(ScenarioSnapshot)
        stored = Path(ScenarioSnapshot.get_location(test_location=snapshot.test_location, index=0))
        old = stored.read_text(encoding="utf-8") if stored.exists() else None
        if snapshot == text:
            return
        title = f"{path.name}::{scenario.name}"
        if old is None:
            pytest.fail(
                f"{title}: no snapshot yet. Check the decisions below, then accept them with "
                f"`rules test --update -k {scenario.name}`.\n\n{text}",
                pytrace=False,
            )
        pytest.fail(
            explain(old, text, title)
            + f"\n\nIf the change is intended: `rules test --update -k {scenario.name}`."
            + f"\nStored: {stored}",
            pytrace=False,
        )

    scenario_test.__name__ = scenario.name
    scenario_test.__module__ = __name__
    return scenario_test


def pytest_terminal_summary(terminalreporter, exitstatus, config: pytest.Config) -> None:
    coverage = config.stash.get(COVERAGE, None)
    if config.getoption("rules_coverage") and coverage is not None and coverage.scenarios:
        terminalreporter.write_sep("-", "rule clause coverage")
        terminalreporter.write_line(coverage.report())
