"""`rules broker check`: a clear message without credentials, a report with them."""

from __future__ import annotations

import asyncio

from brokers.tastytrade import TastytradeBroker
from rulesengine.cli.broker import check
from rulesengine.cli.main import main
from tests.brokers.conftest import TASTY_REFRESH, TASTY_SECRET
from tests.brokers.fakes import FakeDXLink, FakeTastytrade


def test_paper_check_needs_nothing(tmp_path, capsys):
    assert main(["broker", "check", "--data-dir", str(tmp_path)]) == 0
    assert (tmp_path / "paper.json").exists()  # the account `rules run --data-dir` uses
    out = capsys.readouterr().out
    assert "broker:    paper (paper)" in out and "net liq:   $100,000.00" in out


def test_missing_credentials_name_the_variables(monkeypatch, capsys):
    for name in ("TASTYTRADE_CLIENT_SECRET", "TASTYTRADE_REFRESH_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    assert main(["broker", "check", "--broker", "tastytrade"]) == 2
    err = capsys.readouterr().err
    assert "export TASTYTRADE_CLIENT_SECRET=..." in err
    assert "export TASTYTRADE_REFRESH_TOKEN=..." in err
    assert "Traceback" not in err


def test_live_needs_the_environment_opt_in_too(monkeypatch, capsys):
    monkeypatch.delenv("RULES_LIVE_TRADING", raising=False)
    assert main(["broker", "check", "--broker", "alpaca", "--live"]) == 2
    assert "RULES_LIVE_TRADING=yes" in capsys.readouterr().err


def test_unreachable_broker_is_a_one_line_error(monkeypatch, capsys):
    monkeypatch.setenv("ALPACA_API_KEY_ID", "PKNOTREAL")
    monkeypatch.setenv("ALPACA_API_SECRET_KEY", "not-a-real-secret-value")
    import httpx

    import brokers.alpaca

    def refuse(request):
        raise httpx.ConnectError("no network in tests", request=request)

    original = brokers.alpaca.AlpacaBroker.__init__

    def offline(self, *a, **kw):
        original(self, *a, **{**kw, "transport": httpx.MockTransport(refuse), "sleep": _no_sleep})

    monkeypatch.setattr(brokers.alpaca.AlpacaBroker, "__init__", offline)
    assert main(["broker", "check", "--broker", "alpaca"]) == 1
    err = capsys.readouterr().err
    assert "broker unreachable" in err and "not-a-real-secret-value" not in err


async def _no_sleep(seconds: float) -> None:
    return None


def test_check_reports_the_account_and_abilities():
    broker = TastytradeBroker(
        TASTY_SECRET,
        TASTY_REFRESH,
        transport=FakeTastytrade().transport(),
        connect=FakeDXLink().connect,
    )
    lines = asyncio.run(check(broker))
    text = "\n".join(lines)
    assert "tastytrade (sandbox / paper endpoint)" in text
    assert "account:   5WT00001" in text and "net liq:   $38,140.00" in text
    assert "option buying power: $9,535.00" in text
    assert "positions: 2 (1 options, 1 other)" in text
    assert "streaming quotes yes" in text
