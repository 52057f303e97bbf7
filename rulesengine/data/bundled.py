"""Where the data bundled with rulesengine lives: inside an installed wheel or a checkout."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parents[1]


def bundled(*parts: str) -> Path:
    """A bundled data file, e.g. bundled("spx", "spx_sample_ivolatility.csv")."""
    for base in (_PACKAGE / "_data", _PACKAGE.parent / "data"):
        candidate = base.joinpath(*parts)
        if candidate.is_file():
            return candidate
    return _PACKAGE.parent.joinpath("data", *parts)  # missing: the caller's error names it
