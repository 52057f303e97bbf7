"""`rules serve` and `rules run --serve`: a real server process, and each refusal's message."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from rulesengine.cli.main import main
from tests.conftest import RULES
from tests.notify.receivers import free_port


def test_serve_without_a_journal_says_where_they_are(tmp_path, capsys):
    assert main(["serve", "--data-dir", str(tmp_path / "none")]) == 2
    assert "no journal at" in capsys.readouterr().err


def test_serve_beyond_this_machine_needs_both_tokens(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("RULES_API_TOKEN", raising=False)
    monkeypatch.delenv("RULES_API_CONTROL_TOKEN", raising=False)
    (tmp_path / "journal.sqlite").touch()
    assert main(["serve", "--data-dir", str(tmp_path), "0.0.0.0:8765"]) == 2
    err = capsys.readouterr().err
    assert "needs RULES_API_TOKEN and RULES_API_CONTROL_TOKEN set" in err


def test_run_checks_its_serve_address_before_anything_runs(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("RULES_API_TOKEN", raising=False)
    data = tmp_path / "data"
    assert main(["run", str(RULES), "--data-dir", str(data), "--serve", "0.0.0.0:1"]) == 2
    assert "RULES_API_TOKEN" in capsys.readouterr().err
    assert not data.exists()
    assert main(["run", str(RULES), "--data-dir", str(data), "--serve", "http"]) == 2
    assert "give a port (8765) or HOST:PORT" in capsys.readouterr().err


def test_a_serve_process_answers_and_stops_on_ctrl_c(week_journal):
    port = free_port()
    rules = str(Path(sys.executable).parent / "rules")
    process = subprocess.Popen(
        [rules, "serve", "--data-dir", str(week_journal), str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=1)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "the server never answered"
                time.sleep(0.1)
        assert health.json()["mode"] == "journal"
        process.send_signal(signal.SIGINT)
        out, _ = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0
    assert f"rules serve: http://127.0.0.1:{port}/ (dashboard)" in out
    assert out.rstrip().endswith("rules serve: stopped") and "Traceback" not in out


def test_run_on_a_port_in_use_says_so_and_replays_nothing(tmp_path, capsys):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        data = tmp_path / "data"
        code = main(["run", str(RULES), "--data-dir", str(data), "--serve", str(port)])
    assert code == 2
    err = capsys.readouterr().err
    assert f"cannot listen on 127.0.0.1:{port}" in err and "Traceback" not in err
    assert "internal error" not in err


def test_report_without_a_journal_says_where(tmp_path, capsys):
    assert main(["report", "daily", "--data-dir", str(tmp_path)]) == 2
    assert "no journal at" in capsys.readouterr().err
