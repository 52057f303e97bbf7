"""`rules lint`: check rule files and print diagnostics as text, JSON or SARIF."""

from __future__ import annotations

import sys
from pathlib import Path

from rulesengine import __version__
from rulesengine.check.checker import CheckResult, check_file
from rulesengine.check.diagnostics import render_json, render_sarif
from rulesengine.check.summary import print_text
from rulesengine.language.files import rule_files


def lint_paths(paths: list[str]) -> list[CheckResult]:
    return [check_file(path, _display(path)) for path in rule_files(paths)]


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def run(args) -> int:
    results = lint_paths(args.paths)
    if not results:
        print(f"rules lint: no rule files under {' '.join(args.paths)}", file=sys.stderr)
        return 2
    diagnostics = [d for r in results for d in r.diagnostics]
    everything = sorted(
        diagnostics + [d for r in results for d in r.suppressed],
        key=lambda d: (d.file, d.line, d.col, d.code),
    )  # suppressed warnings are reported as such by the machine formats
    if args.format == "json":
        print(render_json(everything))
    elif args.format == "sarif":
        print(render_sarif(everything, __version__))
    else:
        print_text(results)
    if any(d.is_error for d in diagnostics) or (args.strict and diagnostics):
        return 1
    return 0
