"""Accepting a warning deliberately, in the rule file itself.

    legs:   # rules: allow W303        (this line)
    # rules: allow W304, W305          (the next line that is not a comment)
    # rules: allow-file W303           (anywhere: the whole file)

Only warnings can be allowed: an error still means the file cannot run (W306 says so, and
names a code that does not exist). A suppressed warning is kept: `--format json` marks it
`"suppressed": true`, SARIF gives it an in-source suppression, the text summary counts it,
and `--strict` passes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_ALLOW = re.compile(r"#\s*rules:\s*allow(?P<file>-file)?\s+(?P<codes>[A-Za-z0-9,\s]+?)\s*$")


@dataclass
class Suppressions:
    whole_file: set[str] = field(default_factory=set)
    by_line: dict[int, set[str]] = field(default_factory=dict)
    comments: list[tuple[int, int, str]] = field(default_factory=list)  # line, col, code

    def allows(self, code: str, line: int, end_line: int) -> bool:
        if code in self.whole_file:
            return True
        return any(code in self.by_line.get(n, ()) for n in range(line, end_line + 1))


def scan(text: str) -> Suppressions:
    """Every `# rules: allow ...` comment of a file."""
    found = Suppressions()
    lines = text.splitlines()
    pending: set[str] = set()
    for number, line in enumerate(lines, start=1):
        hash_at = _comment_start(line)
        content = line[:hash_at].strip() if hash_at is not None else line.strip()
        if content and pending:
            found.by_line.setdefault(number, set()).update(pending)
            pending = set()
        if hash_at is None:
            continue
        match = _ALLOW.search(line[hash_at:])
        if match is None:
            continue
        codes = {c.upper() for c in re.split(r"[,\s]+", match["codes"]) if c}
        col = hash_at + line[hash_at:].find(match["codes"]) + 1
        found.comments += [(number, col, code) for code in sorted(codes)]
        if match["file"]:
            found.whole_file |= codes
        elif content:
            found.by_line.setdefault(number, set()).update(codes)
        else:
            pending |= codes
    return found


def _comment_start(line: str) -> int | None:
    """Where a YAML comment starts: a `#` at the line's start or after whitespace, outside
    quotes (good enough for rule files, whose values rarely hold a `#`)."""
    quote: str | None = None
    for i, ch in enumerate(line):
        if quote:
            if ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and (i == 0 or line[i - 1] in " \t"):
            return i
    return None
