"""Snapshots (syrupy) of what every example rule decides on the real SPX week."""

import json

import pytest
from syrupy.extensions.json import JSONSnapshotExtension

from rulesengine.cli.main import main
from tests.conftest import ROOT

EXAMPLES = sorted(p.name for p in (ROOT / "rules").glob("*.yaml") if p.name != "risk.yaml")


@pytest.fixture
def snapshot_json(snapshot):
    return snapshot.use_extension(JSONSnapshotExtension)


@pytest.mark.parametrize("name", EXAMPLES)
def test_scan_snapshot(name, snapshot_json, capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    code = main(["scan", f"rules/{name}", "--format", "json", "--date", "all", "--limit", "5"])
    out = capsys.readouterr().out
    assert code == 0
    assert json.loads(out) == snapshot_json
