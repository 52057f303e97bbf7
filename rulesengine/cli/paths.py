"""Where bundled files live, in a checkout or an installed wheel."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parents[1]
_REPO = _PACKAGE.parent


def bundled_chain() -> Path:
    """The real SPX week (iVolatility sample via sirnfs/OptionSuite, MIT)."""
    for base in (_PACKAGE / "_data", _REPO / "data"):
        candidate = base / "spx" / "spx_sample_ivolatility.csv"
        if candidate.is_file():
            return candidate
    return _REPO / "data" / "spx" / "spx_sample_ivolatility.csv"


def rule_files(paths: list[str]) -> list[Path]:
    """Files named, plus every *.yaml / *.yml under directories named (tests/ excluded)."""
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found += sorted(
                p
                for p in path.rglob("*")
                if p.suffix in {".yaml", ".yml"} and "tests" not in p.relative_to(path).parts
            )
        else:
            found.append(path)
    return found
