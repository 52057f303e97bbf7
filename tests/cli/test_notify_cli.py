"""`rules run` sending notifications to a local webhook, `rules notify`, and their errors."""

from __future__ import annotations

import shutil

from rulesengine.cli.main import main
from tests.conftest import RULES
from tests.notify.receivers import Webhook, free_port

SECRET = "tok-5ecret-4242"


def rules_with(tmp_path, url: str):
    folder = tmp_path / "rules"
    folder.mkdir()
    shutil.copy(RULES / "bull_put_spread.yaml", folder)
    (folder / "risk.yaml").write_text(
        f"portfolio: risk\nnotify:\n  desk:\n    url: {url}\n    events: [entry, fill]\n"
    )
    return folder


def test_rules_run_notifies_a_webhook_and_says_so(tmp_path, capsys, monkeypatch):
    hook = Webhook().start()
    monkeypatch.setenv("HOOK_PATH", SECRET)
    folder = rules_with(tmp_path, hook.url + "/${HOOK_PATH}")
    data = str(tmp_path / "data")
    try:
        assert main(["run", str(folder), "--data-dir", data, "--stop-after", "3"]) == 0
    finally:
        hook.stop()
    out = capsys.readouterr().out
    assert "notify: 1 channel(s): desk (json://127.0.0.1:" in out
    sent = [m for m in hook.received if m["title"].startswith("bull_put_spread: entry")]
    assert sent and f"notify: {len(hook.received)} sent" in out
    assert SECRET not in out
    assert main(["notify", str(folder), "--data-dir", data]) == 0
    status = capsys.readouterr().out
    assert status.startswith(f"desk: {len(hook.received)} sent")


def test_a_channel_whose_secret_is_not_set_stops_the_run_before_it_starts(tmp_path, capsys):
    folder = rules_with(tmp_path, "json://127.0.0.1:9/${RULES_TEST_UNSET_HOOK}")
    assert main(["run", str(folder), "--data-dir", str(tmp_path / "d")]) == 2
    err = capsys.readouterr().err
    assert "notify.desk: environment variable RULES_TEST_UNSET_HOOK is not set" in err
    assert not (tmp_path / "d" / "paper.json").exists()  # nothing ran


def test_notify_test_reports_each_channel(tmp_path, capsys, monkeypatch):
    hook = Webhook().start()
    monkeypatch.setenv("DEAD_PORT", str(free_port()))
    folder = rules_with(tmp_path, hook.url)
    (folder / "risk.yaml").write_text(
        (folder / "risk.yaml").read_text() + "  dead:\n    url: json://127.0.0.1:${DEAD_PORT}/x\n"
    )
    try:
        code = main(["notify", str(folder), "--data-dir", str(tmp_path / "d"), "--test"])
    finally:
        hook.stop()
    out = capsys.readouterr().out
    assert code == 1
    assert "desk: sent" in out and "dead: FAILED: A Connection error occurred" in out
    assert hook.received[0]["message"] == "a test message from rulesengine"


def test_notify_send_delivers_what_a_stopped_run_left_queued(tmp_path, capsys):
    down = Webhook()  # not listening during the run
    folder = rules_with(tmp_path, down.url)
    data = str(tmp_path / "data")
    assert main(["run", str(folder), "--data-dir", data, "--stop-after", "2"]) == 0
    out = capsys.readouterr().out
    assert "still queued" in out and "A Connection error occurred" in out
    down.start()
    try:
        assert main(["notify", str(folder), "--data-dir", data, "--send"]) == 0
    finally:
        down.stop()
    status = capsys.readouterr().out
    assert "still queued" not in status and down.received
    assert f"desk: {len(down.received)} sent" in status
