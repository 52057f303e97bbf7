"""Which files are rule files: those named, and the YAML under directories named."""

from __future__ import annotations

from pathlib import Path


def rule_files(paths: list[str]) -> list[Path]:
    """Files named, plus every *.yaml / *.yml under directories named: a folder's scenarios
    (tests/) are not rules, and its rule packs (packs/) run only when named themselves."""
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found += sorted(
                p
                for p in path.rglob("*")
                if p.suffix in {".yaml", ".yml"}
                and not {"tests", "packs"} & set(p.relative_to(path).parts)
            )
        else:
            found.append(path)
    return found
