"""Which files are rule files: those named, and the YAML under directories named."""

from __future__ import annotations

from pathlib import Path


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
