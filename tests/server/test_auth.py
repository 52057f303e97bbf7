"""Tokens, throttling and where the server may listen."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from rulesengine.server.app import create_app
from rulesengine.server.auth import Auth, Denied, Throttle, Tokens, bind_problem
from rulesengine.server.reader import JournalReader

READ, CONTROL = "read-token-123", "control-token-456"


def client(data, tokens: Tokens, loopback: bool = True, throttle=None) -> TestClient:
    app = create_app(JournalReader(data), Auth(tokens, loopback, throttle))
    return TestClient(app)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_no_token_wrong_token_and_the_read_token_on_control(week_journal):
    api = client(week_journal, Tokens(READ, CONTROL))
    missing = api.get("/api/status")
    assert missing.status_code == 401 and missing.headers["www-authenticate"] == "Bearer"
    wrong = api.get("/api/status", headers=bearer("guess"))
    assert wrong.status_code == 401 and "guess" not in wrong.text
    assert api.get("/api/status", headers=bearer(READ)).status_code == 200
    assert api.get("/api/status", headers=bearer(CONTROL)).status_code == 200  # control reads
    read_on_control = api.post("/api/control/pause", headers=bearer(READ))
    assert read_on_control.status_code == 403
    assert read_on_control.json() == {"error": "this token reads; control needs the control token"}
    # the control token passes auth; a read-only server then says control needs the engine
    refused = api.post("/api/control/pause", headers=bearer(CONTROL))
    assert refused.status_code == 409 and "rules run --serve" in refused.json()["error"]
    assert api.get("/api/health").status_code == 200  # liveness needs no token


def test_on_this_machine_without_a_read_token_reads_are_open_but_control_is_not(week_journal):
    api = client(week_journal, Tokens(None, None))
    assert api.get("/api/positions").status_code == 200
    off = api.post("/api/control/kill")
    assert off.status_code == 403 and "RULES_API_CONTROL_TOKEN" in off.json()["error"]


def test_repeated_failures_are_throttled_then_forgiven(week_journal):
    clock = [0.0]
    api = client(week_journal, Tokens(READ, CONTROL), throttle=Throttle(lambda: clock[0]))
    for _ in range(5):
        assert api.get("/api/status", headers=bearer("nope")).status_code == 401
    blocked = api.get("/api/status", headers=bearer(READ))  # even the right token waits
    assert blocked.status_code == 429 and int(blocked.headers["retry-after"]) >= 60
    clock[0] += 61
    assert api.get("/api/status", headers=bearer(READ)).status_code == 200


def test_only_this_machine_without_tokens():
    assert bind_problem("127.0.0.1", Tokens()) is None
    assert bind_problem("localhost", Tokens()) is None
    problem = bind_problem("0.0.0.0", Tokens(READ, None))
    assert problem and "RULES_API_CONTROL_TOKEN" in problem and READ not in problem
    assert bind_problem("0.0.0.0", Tokens(READ, CONTROL)) is None


def test_tokens_never_show_in_reprs():
    tokens = Tokens(READ, CONTROL)
    assert READ not in repr(tokens) and CONTROL not in repr(tokens)
    with pytest.raises(Denied) as denied:
        Auth(tokens, True).check("Bearer wrong-" + READ, "c", "read")
    assert READ not in str(denied.value)
