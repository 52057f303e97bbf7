"""The `notify:` section and `-> alert` as `rules lint` sees them."""

from __future__ import annotations

from tests.conftest import checked

PORTFOLIO = "portfolio: risk\n"


def codes(text: str) -> list[str]:
    return [d.code for d in checked(text).diagnostics]


def messages(text: str) -> list[str]:
    return [f"{d.code} {d.message} | {d.hint}" for d in checked(text).diagnostics]


def test_a_channel_with_events_and_severity_checks():
    result = checked(
        PORTFOLIO
        + "notify:\n"
        + "  desk:\n    url: json://127.0.0.1:8765/hook\n    events: [entry, breaker]\n"
        + "  phone:\n    url: ${DISCORD_URL}\n    severity: critical\n"
    )
    assert not result.errors
    desk, phone = result.program.notify.values()
    assert desk.events == {"entry", "breaker"} and desk.severity == "info"
    assert phone.url == "${DISCORD_URL}" and "report" in phone.events  # default: all


def test_an_unknown_event_says_which_one_it_meant():
    (message,) = messages(PORTFOLIO + "notify:\n  d:\n    url: json://h/x\n    events: [fils]\n")
    assert message == "E403 notify.d: unknown event 'fils' | did you mean 'fill'?"


def test_urls_without_a_scheme_or_with_a_bad_variable_are_refused():
    (no_scheme,) = messages(PORTFOLIO + "notify:\n  d:\n    url: hooks.example.com/x\n")
    assert no_scheme.startswith("E403 notify.d: 'hooks.example.com/x' is not a URL")
    (bad_name,) = messages(PORTFOLIO + "notify:\n  d:\n    url: json://h/${MY-TOKEN}\n")
    assert "`${MY-TOKEN}` is not an environment variable name" in bad_name
    (unclosed,) = messages(PORTFOLIO + "notify:\n  d:\n    url: json://h/${TOKEN\n")
    assert "an unclosed `${`" in unclosed


def test_a_strategy_file_cannot_notify():
    text = "strategy: s\nlegs:\n  short: put where delta > -0.3\nexit:\n  stop: pnl < -100\n"
    text += "notify:\n  d:\n    url: json://h/x\n"
    assert "E011" in codes(text)


def test_alert_is_a_breaker_action_and_typos_point_to_it():
    assert codes(PORTFOLIO + "breakers:\n  watch: day_pnl < -500 -> alert\n") == []
    (message,) = messages(PORTFOLIO + "breakers:\n  watch: day_pnl < -500 -> alret\n")
    assert message.startswith("E402 unknown breaker action 'alret'") and "'alert'" in message
