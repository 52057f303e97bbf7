"""Diagnostics as text for people: each with its source excerpt, then the counts."""

from __future__ import annotations

import sys

from rulesengine.check.checker import CheckResult
from rulesengine.check.diagnostics import render_text


def print_text(results: list[CheckResult], out=None) -> None:
    out = out or sys.stdout  # looked up per call: tests and pipes swap sys.stdout
    for result in results:
        for diagnostic in result.diagnostics:
            print(render_text(diagnostic, result.lines), file=out)
            print(file=out)
    errors = sum(len(r.errors) for r in results)
    warnings = sum(len(r.diagnostics) - len(r.errors) for r in results)
    allowed = sum(len(getattr(r, "suppressed", ())) for r in results)
    files = len(results)
    tail = f" ({allowed} allowed by `# rules: allow`)" if allowed else ""
    if errors or warnings:
        print(
            f"{_count(files, 'file')} checked: {_count(errors, 'error')}, "
            f"{_count(warnings, 'warning')}{tail}",
            file=out,
        )
    else:
        print(f"{_count(files, 'file')} checked: no problems{tail}", file=out)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'s' * (n != 1)}"
