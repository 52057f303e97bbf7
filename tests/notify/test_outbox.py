"""The outbox and its dispatcher against real local receivers: a channel down then up, a slow
channel beside a fast one, a crash between queuing and sending, redaction, e-mail."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest

from rulesengine.check.program import Channel
from rulesengine.engine.journal import Journal
from rulesengine.notify.channels import ChannelError, Resolved, deliver, resolve
from rulesengine.notify.dispatcher import Dispatcher
from rulesengine.notify.events import Event, Routes, from_alert
from rulesengine.notify.outbox import Outbox
from tests.notify.receivers import Mailbox, Webhook, free_port

T0 = datetime(2024, 3, 12, 14, 0, tzinfo=UTC)
FAST = {"poll": 0.02, "backoff": (0.05, 0.2)}


def channel(name: str, url: str, events=("entry", "breaker"), severity="info") -> Channel:
    return Channel(name, url, frozenset(events), severity)


def entry(n: int) -> Event:
    return Event("entry", "info", f"entry {n}", f"entered position {n}", f"candidate:{n}")


def queue(journal: Journal, name: str, n: int) -> list[str]:
    outbox = Outbox(journal.db)
    for i in range(n):
        outbox.queue(name, entry(i), T0 + timedelta(minutes=i))
    journal.commit()
    return [r.id for r in outbox.due(name, time.time(), limit=1000)]


@pytest.fixture
def journal(tmp_path):
    j = Journal(tmp_path / "journal.sqlite", power_safe=False)
    yield j
    j.close()


def statuses(journal: Journal) -> dict[str, str]:
    rows = journal.db.execute("SELECT id, status FROM outbox").fetchall()
    return {r["id"]: r["status"] for r in rows}


def test_queueing_the_same_event_twice_keeps_one_row(journal):
    outbox = Outbox(journal.db)
    assert outbox.queue("desk", entry(1), T0)
    assert not outbox.queue("desk", entry(1), T0)  # a tick re-run after a crash
    assert outbox.queue("desk", entry(1), T0 + timedelta(minutes=5))  # a later event
    assert outbox.queue("phone", entry(1), T0)  # the same event, another channel
    assert len(statuses(journal)) == 3


def test_routes_follow_events_and_severity():
    routes = Routes.of(
        [
            channel("desk", "json://x", events=("entry", "breaker")),
            channel("phone", "json://y", events=("breaker",), severity="critical"),
        ]
    )
    assert routes.to(entry(1)) == ["desk"]
    assert routes.to(from_alert("breaker", "risk.dd tripped -> block_entries")) == ["desk"]
    assert routes.to(from_alert("breaker", "risk.dd tripped -> halt", "critical")) == [
        "desk",
        "phone",
    ]
    assert routes.to(from_alert("error", "broker account failed")) == []  # broker_error


def test_a_channel_down_then_up_gets_everything_once_in_order(journal):
    hook = Webhook()  # not started: the channel is down
    ids = queue(journal, "desk", 4)
    (desk,) = resolve([channel("desk", hook.url)], {})
    dispatcher = Dispatcher(journal.path, [desk], **FAST).start()
    try:
        deadline = time.monotonic() + 5
        while not journal.db.execute("SELECT MAX(attempts) FROM outbox").fetchone()[0]:
            assert time.monotonic() < deadline, "the dispatcher never tried"
            time.sleep(0.02)
        hook.start()
        assert dispatcher.drain(10)
    finally:
        dispatcher.stop()
        hook.stop()
    assert hook.ids() == ids  # each once, in the order queued
    assert set(statuses(journal).values()) == {"sent"}
    first = journal.db.execute("SELECT attempts, error FROM outbox WHERE id=?", (ids[0],))
    attempts, _ = first.fetchone()
    assert attempts >= 2  # failed while down, then sent


def test_a_crash_between_queuing_and_sending_loses_nothing_and_sends_once(tmp_path):
    hook = Webhook().start()
    try:
        path = tmp_path / "journal.sqlite"
        first = Journal(path, power_safe=False)
        ids = queue(first, "desk", 3)  # committed with the tick ...
        Outbox(first.db).queue("desk", entry(99), T0 + timedelta(hours=1))  # ... and not
        first.db.close()  # the process dies: nothing sent, the uncommitted row rolled back
        (desk,) = resolve([channel("desk", hook.url)], {})
        again = Journal(path, power_safe=False)  # the restart
        assert queue(again, "desk", 3) == ids  # the re-run tick queues the same rows: ignored
        dispatcher = Dispatcher(path, [desk], **FAST).start()
        assert dispatcher.drain(10)
        dispatcher.stop()
        restarted = Dispatcher(path, [desk], **FAST).start()  # a second restart sends nothing
        assert restarted.drain(2)
        restarted.stop()
        again.close()
    finally:
        hook.stop()
    assert hook.ids() == ids


def test_a_slow_channel_never_delays_another(journal):
    release = threading.Event()
    sent: list[tuple[str, str]] = []

    def send(ch: Resolved, row_id: str, title: str, body: str, severity: str) -> str | None:
        if ch.name == "slow":
            release.wait(10)
        sent.append((ch.name, row_id))
        return None

    queue(journal, "slow", 2)
    fast_ids = queue(journal, "fast", 3)
    channels = [Resolved("slow", "json://slow", ()), Resolved("fast", "json://fast", ())]
    dispatcher = Dispatcher(journal.path, channels, send=send, **FAST).start()
    try:
        deadline = time.monotonic() + 5
        while [i for n, i in sent if n == "fast"] != fast_ids:
            assert time.monotonic() < deadline, "the fast channel waited for the slow one"
            time.sleep(0.02)
        assert not [n for n, _ in sent if n == "slow"]
    finally:
        release.set()
        assert dispatcher.drain(5)
        dispatcher.stop()
    assert sum(1 for n, _ in sent if n == "slow") == 2


def test_a_channel_that_never_answers_gives_up_and_keeps_the_row(journal):
    (row_id,) = queue(journal, "desk", 1)
    (dead,) = resolve([channel("desk", f"json://127.0.0.1:{free_port()}/hook")], {})
    dispatcher = Dispatcher(journal.path, [dead], max_attempts=2, **FAST).start()
    deadline = time.monotonic() + 10
    while statuses(journal)[row_id] != "failed":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    dispatcher.stop()
    row = journal.db.execute("SELECT attempts, error FROM outbox").fetchone()
    assert row["attempts"] == 2 and "127.0.0.1" in row["error"]


def test_a_removed_channel_drops_its_waiting_rows_with_the_reason(journal):
    queue(journal, "old", 2)
    Dispatcher(journal.path, [], **FAST)
    rows = journal.db.execute("SELECT status, error FROM outbox").fetchall()
    assert {r["status"] for r in rows} == {"dropped"}
    assert "no longer in the rules" in rows[0]["error"]


def test_secrets_from_the_environment_never_show(journal):
    secret = "s3cr3t-TOKEN-value"
    port = free_port()  # nothing listens: the error text is produced
    env = {"HOOK_TOKEN": secret, "MAIL_PASSWORD": "hunter2-pass"}
    hook, mail = resolve(
        [
            channel("hook", f"json://127.0.0.1:{port}/hook/${{HOOK_TOKEN}}"),
            channel(
                "mail",
                "mailto://bot:${MAIL_PASSWORD}@127.0.0.1:1?from=bot@example.com&to=t@example.com",
            ),
        ],
        env,
    )
    assert hook.url.endswith(secret)  # the real URL carries it ...
    for shown in (str(hook), repr(hook), str(mail), repr(mail), hook.shown, mail.shown):
        assert secret not in shown and "hunter2-pass" not in shown  # ... nothing else does
    error = deliver(hook, "n-1", "t", "b", "info")
    assert error and secret not in error
    assert hook.redact(f"GET /hook/{secret} failed") == "GET /hook/*** failed"


def test_a_missing_variable_or_an_unknown_service_is_a_clear_error():
    with pytest.raises(ChannelError, match=r"notify.desk: environment variable HOOK is not set"):
        resolve([channel("desk", "json://127.0.0.1/${HOOK}")], {})
    with pytest.raises(ChannelError, match="apprise does not recognise"):
        resolve([channel("desk", "nosuchservice://x")], {})


def test_json_webhooks_receive_the_row_id_to_drop_a_repeat():
    hook = Webhook().start()
    try:
        (desk,) = resolve([channel("desk", hook.url + "?:source=rules")], {})
        assert deliver(desk, "n-abc", "entry", "entered", "warning") is None
    finally:
        hook.stop()
    (message,) = hook.received
    assert message["id"] == "n-abc" and message["source"] == "rules"
    assert (message["title"], message["message"], message["type"]) == (
        "entry",
        "entered",
        "warning",
    )


def test_e_mail_through_a_local_smtp_server(journal):
    with Mailbox() as mailbox:
        (mail,) = resolve([channel("mail", mailbox.url)], {})
        ids = queue(journal, "mail", 2)
        dispatcher = Dispatcher(journal.path, [mail], **FAST).start()
        assert dispatcher.drain(10)
        dispatcher.stop()
    assert len(mailbox.messages) == len(ids) == 2
    text = mailbox.messages[0].decode()
    assert "Subject: entry 0" in text and "To: trader@example.com" in text


def test_a_row_waiting_out_its_backoff_holds_back_the_rows_behind_it(journal):
    first, second = queue(journal, "desk", 2)
    outbox = Outbox(journal.db)
    outbox.retry(first, 1, "down", time.time() + 60)  # e.g. left so by a stopped run
    assert outbox.due("desk", time.time()) == []  # the second does not overtake it
    assert [r.id for r in outbox.due("desk", time.time() + 61)] == [first, second]
    outbox.now()
    assert [r.id for r in outbox.due("desk", time.time())] == [first, second]


def test_two_dispatchers_on_one_journal_send_each_row_once(journal):
    hook = Webhook().start()  # e.g. `rules notify --send` while `rules run` is sending
    try:
        ids = queue(journal, "desk", 12)
        (desk,) = resolve([channel("desk", hook.url)], {})
        first = Dispatcher(journal.path, [desk], **FAST).start()
        second = Dispatcher(journal.path, [desk], **FAST).start()
        assert first.drain(10) and second.drain(10)
        first.stop()
        second.stop()
    finally:
        hook.stop()
    assert sorted(hook.ids()) == sorted(ids)  # every row, none twice
    assert first.sent + second.sent == len(ids)


def test_a_claim_left_by_a_dead_dispatcher_is_released(journal):
    (row_id,) = queue(journal, "desk", 1)
    outbox = Outbox(journal.db)
    assert outbox.claim(row_id, time.time() - 500)  # claimed long ago by a process now gone
    journal.commit()
    assert not outbox.claim(row_id, time.time())  # held: nobody else takes it
    assert outbox.release_stale(time.time()) == 1
    assert [r.id for r in outbox.due("desk", time.time())] == [row_id]
