"""A strategy's universe: a list (`[SPX, QQQ]`), `all` (every underlying in the data), or a
list file (`file:sp500.txt`, relative to the rule file: symbols separated by lines, commas or
spaces, `#` starting a comment)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

MAX_SYMBOLS = 50_000
SYMBOL = re.compile(r"^[A-Za-z0-9/^._-]{1,21}$")


def read_universe(
    value: list[str] | str, rule_file: str, report: Callable[[str, str | None], None]
) -> tuple[tuple[str, ...], str]:
    """(symbols, the funnel's label); no symbols means every underlying in the data."""
    if isinstance(value, list):
        return tuple(value), f"underlying in {list(value)}" if value else ""
    text = value.strip()
    if text == "all":
        return (), ""
    if not text.startswith("file:"):
        report(f"universe '{text}': write a list, `all`, or `file:PATH`", "e.g. [SPX, QQQ]")
        return (), ""
    path = Path(rule_file).parent / text[5:].strip()
    try:
        body = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        report(f"universe file {path} cannot be read ({error.__class__.__name__})", None)
        return (), ""
    words = [w for line in body.splitlines() for w in re.split(r"[\s,]+", line.split("#")[0])]
    symbols = tuple(dict.fromkeys(w.strip() for w in words if w.strip()))
    bad = [s for s in symbols if not SYMBOL.match(s)]
    if bad or not symbols or len(symbols) > MAX_SYMBOLS:
        what = f"'{bad[0]}' is not a symbol" if bad else f"{len(symbols)} symbols"
        report(f"universe file {path}: {what}", f"one to {MAX_SYMBOLS:,} symbols, e.g. SPX")
        return (), ""
    return symbols, f"underlying in {path.name} ({len(symbols)} symbols)"
