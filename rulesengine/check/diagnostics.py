"""Diagnostics: structured records (code, span, message, hint) and their text/JSON/SARIF forms."""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field

from rulesengine.language.yaml_source import LineIndex

CODES: dict[str, str] = {
    "E000": "internal error in the checker (a bug: please report it)",
    "E001": "YAML syntax error",
    "E002": "file cannot be read",
    "E010": "unknown section or key",
    "E011": "wrong shape or missing value",
    "E012": "duplicate key",
    "E101": "DSL syntax error",
    "E102": "unknown name",
    "E103": "unknown function",
    "E104": "wrong number or kind of arguments",
    "E105": "unknown leg kind",
    "E106": "reference to an undefined or later leg",
    "E107": "name not available in this section",
    "E108": "`let` names refer to each other in a cycle",
    "E109": "leg side unknown (buy or sell)",
    "E110": "`expiry` preference reads a field that differs within an expiry",
    "E111": "not a timeframe the bars can have (`30s`, `1w`), or one where none applies",
    "E112": "one series mixes bars of two timeframes",
    "E113": "a series function given a value that is not a series",
    "E114": "lookback longer than the bar history the engine keeps",
    "E201": "type or unit mismatch",
    "E202": "a condition must be true or false",
    "E204": "invalid literal",
    "E301": "empty range",
    "E302": "contradictory conditions",
    "E303": "expression too large or too deep",
    "E401": "invalid schedule",
    "E402": "invalid breaker",
    "E403": "invalid notification channel",
    "E404": "invalid report time",
    "W301": "condition is always true",
    "W302": "implausible value",
    "W303": "strategy has no stop loss",
    "W304": "leg join may explode combinatorially",
    "W305": "unused `let` name",
    "W306": "a `# rules: allow` comment that cannot apply",
}


@dataclass(frozen=True)
class Diagnostic:
    code: str
    severity: str  # 'error' | 'warning'
    message: str
    file: str
    line: int
    col: int
    end_line: int
    end_col: int
    hint: str | None = None
    notes: tuple[str, ...] = field(default=())
    suppressed: bool = False  # accepted by a `# rules: allow` comment

    @property
    def is_error(self) -> bool:
        return self.severity == "error"

    def to_json(self) -> dict:
        record = asdict(self)
        record["end"] = {"line": self.end_line, "col": self.end_col}
        record["notes"] = list(self.notes)
        return record


def did_you_mean(word: str, candidates: Iterable[str]) -> str | None:
    """The closest candidate to a misspelt word, phrased as a hint, or None."""
    candidates = list(candidates)
    cutoff = 0.5 if len(word) <= 3 else 0.6  # one wrong letter in a short word is half of it
    matches = difflib.get_close_matches(word, candidates, n=1, cutoff=cutoff)
    if not matches:
        lowered = {c.lower(): c for c in candidates}
        if word.lower() in lowered:
            matches = [lowered[word.lower()]]
    return f"did you mean '{matches[0]}'?" if matches else None


def render_text(diagnostic: Diagnostic, lines: LineIndex | None) -> str:
    """rustc-style: `file:line:col: error[E102]: message`, the source line, a caret, help."""
    d = diagnostic
    head = f"{d.file}:{d.line}:{d.col}: {d.severity}[{d.code}]: {d.message}"
    out = [head]
    if lines is not None and 1 <= diagnostic.line <= len(lines.starts):
        source = lines.line_text(diagnostic.line).replace("\t", " ")
        gutter = " " * len(str(diagnostic.line))
        same_line = diagnostic.end_line == diagnostic.line
        end_col = diagnostic.end_col if same_line else len(source) + 1
        width = max(1, end_col - diagnostic.col)
        out += [
            f"{gutter} |",
            f"{diagnostic.line} | {source}",
            f"{gutter} | {' ' * (diagnostic.col - 1)}{'^' * width}",
        ]
        for note in diagnostic.notes:
            out.append(f"{gutter} = note: {note}")
        if diagnostic.hint:
            out.append(f"{gutter} = help: {diagnostic.hint}")
    else:
        out += [f"  = note: {note}" for note in diagnostic.notes]
        if diagnostic.hint:
            out.append(f"  = help: {diagnostic.hint}")
    return "\n".join(out)


def render_json(diagnostics: list[Diagnostic]) -> str:
    return json.dumps([d.to_json() for d in diagnostics], indent=2)


def render_sarif(diagnostics: list[Diagnostic], version: str) -> str:
    """SARIF 2.1.0, the format code-scanning tools read."""
    rules = [
        {"id": code, "shortDescription": {"text": text}} for code, text in sorted(CODES.items())
    ]
    results = []
    for d in diagnostics:
        message = d.message + (f" ({d.hint})" if d.hint else "")
        extra = {"suppressions": [{"kind": "inSource"}]} if d.suppressed else {}
        results.append(
            {
                **extra,
                "ruleId": d.code,
                "level": "error" if d.is_error else "warning",
                "message": {"text": message},
                "locations": [
                    {
                        "physicalLocation": {
                            "artifactLocation": {"uri": d.file},
                            "region": {
                                "startLine": d.line,
                                "startColumn": d.col,
                                "endLine": d.end_line,
                                "endColumn": d.end_col,
                            },
                        }
                    }
                ],
            }
        )
    sarif = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {
                "tool": {"driver": {"name": "rules lint", "version": version, "rules": rules}},
                "results": results,
            }
        ],
    }
    return json.dumps(sarif, indent=2)
