"""`rules lint`: check rule files and print diagnostics as text, JSON or SARIF."""

from __future__ import annotations

import sys
from pathlib import Path

from rulesengine import __version__
from rulesengine.check.checker import CheckResult, check_file
from rulesengine.check.diagnostics import render_json, render_sarif, render_text
from rulesengine.cli.paths import rule_files


def lint_paths(paths: list[str]) -> list[CheckResult]:
    return [check_file(path, _display(path)) for path in rule_files(paths)]


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def print_text(results: list[CheckResult], out=None) -> None:
    out = out or sys.stdout  # looked up per call: tests and pipes swap sys.stdout
    for result in results:
        for diagnostic in result.diagnostics:
            print(render_text(diagnostic, result.lines), file=out)
            print(file=out)
    errors = sum(len(r.errors) for r in results)
    warnings = sum(len(r.diagnostics) - len(r.errors) for r in results)
    files = len(results)
    if errors or warnings:
        print(
            f"{_count(files, 'file')} checked: {_count(errors, 'error')}, "
            f"{_count(warnings, 'warning')}",
            file=out,
        )
    else:
        print(f"{_count(files, 'file')} checked: no problems", file=out)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'s' * (n != 1)}"


def run(args) -> int:
    results = lint_paths(args.paths)
    if not results:
        print(f"rules lint: no rule files under {' '.join(args.paths)}", file=sys.stderr)
        return 2
    diagnostics = [d for r in results for d in r.diagnostics]
    if args.format == "json":
        print(render_json(diagnostics))
    elif args.format == "sarif":
        print(render_sarif(diagnostics, __version__))
    else:
        print_text(results)
    if any(d.is_error for d in diagnostics) or (args.strict and diagnostics):
        return 1
    return 0
