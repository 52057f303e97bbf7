"""The import-layering contract: each layer imports only from the layers below it.

    language < check < analytics, data < compile < runtime < strategies < notify < engine
             < backtest, scenarios, server, reports < cli

and `brokers/` imports nothing from `rulesengine/` (adapters know nothing of rules). Packages
in one layer may import each other (analytics prices chains, chains carry analytics fields).
Every import counts, lazy ones inside functions too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LAYERS = [
    {"language"},
    {"check"},
    {"analytics", "data"},
    {"compile"},
    {"runtime"},
    {"strategies"},
    {"notify"},
    {"engine"},
    {"backtest", "scenarios", "server", "reports"},
    {"cli"},
]
RANK = {package: rank for rank, layer in enumerate(LAYERS) for package in layer}


def imports_of(path: Path) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
        elif isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
    return found


def package_of(path: Path) -> str | None:
    parts = path.relative_to(ROOT / "rulesengine").parts
    return parts[0] if len(parts) > 1 else None  # top-level modules (__init__) are free


def violations(path: Path) -> list[str]:
    if path.is_relative_to(ROOT / "brokers"):
        return [
            f"{path.relative_to(ROOT)}:{line} imports {module}: brokers know nothing of rules"
            for line, module in imports_of(path)
            if module == "rulesengine" or module.startswith("rulesengine.")
        ]
    package = package_of(path)
    if package is None:
        return []
    out = []
    for line, module in imports_of(path):
        parts = module.split(".")
        if parts[0] != "rulesengine" or len(parts) < 2 or parts[1] not in RANK:
            continue
        if RANK[parts[1]] > RANK[package]:
            out.append(f"{path.relative_to(ROOT)}:{line} ({package}) imports {module}")
    return out


def test_every_package_is_in_a_layer():
    packages = {p.name for p in (ROOT / "rulesengine").iterdir() if (p / "__init__.py").exists()}
    assert packages == set(RANK)


@pytest.mark.parametrize("tree", ["rulesengine", "brokers"])
def test_imports_point_down_the_layers(tree):
    found = [v for path in sorted((ROOT / tree).rglob("*.py")) for v in violations(path)]
    assert found == []


def test_the_contract_catches_an_upward_import(monkeypatch):
    """The checker itself: an engine module importing the CLI is reported."""
    bad = ROOT / "rulesengine" / "engine" / "_upward_probe.py"
    monkeypatch.setattr(Path, "read_text", lambda self, **kw: "from rulesengine.cli import x\n")
    assert violations(bad) == [
        "rulesengine/engine/_upward_probe.py:1 (engine) imports rulesengine.cli"
    ]
