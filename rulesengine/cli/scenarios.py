"""`rules test`: the scenarios beside the rules, run by pytest with the scenario plugin.
Exit codes are pytest's: 0 passed, 1 failed, 2 interrupted, 4 usage error, 5 no scenarios."""

from __future__ import annotations

import sys
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from rulesengine.scenarios.model import is_scenario_file

PLUGIN = "rulesengine.scenarios.plugin"
NO_TESTS = int(pytest.ExitCode.NO_TESTS_COLLECTED)


def run(args) -> int:
    targets = [_target(Path(p)) for p in args.paths]
    files = [f for t in targets for f in _scenario_files(t)]
    if not files:
        where = " ".join(str(t) for t in targets)
        print(
            f"rules test: no scenario files under {where}. Add e.g. rules/tests/my_strategy.yaml "
            "with a `scenarios:` list (see the README's `rules test` section).",
            file=sys.stderr,
        )
        return NO_TESTS
    # the files themselves, so pytest collects scenarios and nothing else under the directory
    argv = [str(f) for f in files]
    argv += ["-W", "ignore::pytest.PytestAssertRewriteWarning"]  # the CLI imported us first
    argv += ["-p", "no:cacheprovider"]  # no .pytest_cache left in the trader's rules directory
    if not _plugin_registered():
        argv += ["-p", PLUGIN]
    if args.k:
        argv += ["-k", args.k]
    if args.update:
        argv.append("--snapshot-update")
    if args.coverage:
        argv.append("--rules-coverage")
    if args.exitfirst:
        argv.append("-x")
    if args.verbose:
        argv.append("-v")
    return int(pytest.main(argv))


def _target(path: Path) -> Path:
    """A rules directory means its tests/ directory; files and other directories as given."""
    if path.is_dir() and (path / "tests").is_dir():
        return path / "tests"
    return path


def _scenario_files(path: Path) -> list[Path]:
    if path.is_dir():
        found = (p for p in path.rglob("*.y*ml") if "__snapshots__" not in p.parts)
        return sorted(p for p in found if is_scenario_file(p))
    return [path] if is_scenario_file(path) else []


def _plugin_registered() -> bool:
    return any(ep.value == PLUGIN for ep in entry_points(group="pytest11"))
