"""The `order:` execution policy through the real engine and paper broker: time in force,
timeouts that cancel working orders, a cap on working entries, portfolio defaults."""

from __future__ import annotations

import pytest

from brokers.model import TimeInForce
from brokers.paper.fills import FillPolicy
from rulesengine.engine.policy import OrderPolicy, policy_for
from rulesengine.engine.ruleset import load_rules
from tests.conftest import checked
from tests.engine.harness import PUT_SPREAD
from tests.engine.test_entries_per_scan import WIDE

pytestmark = pytest.mark.anyio


def resting(harness, rules: dict[str, str]):
    h = harness(rules)
    h.broker.policy = FillPolicy(reprice=False)  # orders rest at their limit: nothing fills
    return h


@pytest.mark.parametrize(("tif", "next_day"), [("gtc", "working"), ("day", "expired")])
async def test_gtc_orders_outlive_the_session_and_day_orders_do_not(harness, tif, next_day):
    h = resting(harness, {"puts.yaml": PUT_SPREAD + f"order:\n  tif: {tif}\n"})
    await h.day(0, work=False)
    (order,) = h.journal.orders()
    assert order.status == "working"
    await h.day(1, work=False)
    assert h.journal.order(order.key).status == next_day


async def test_a_timeout_cancels_a_working_order_with_the_reason(harness):
    rules = PUT_SPREAD + "order:\n  tif: gtc\n  timeout: 30m\n"
    h = resting(harness, {"puts.yaml": rules})
    await h.day(0, work=False)
    (order,) = h.journal.orders()
    await h.day(1, work=False)
    assert h.journal.order(order.key).status == "cancelled"
    (cancel,) = h.decisions("cancel")
    assert cancel["reason"].startswith("order timeout: working 1440 min, more than 30 min")


async def test_max_working_caps_the_entries_working_at_once(harness):
    rules = WIDE + "limits:\n  max_entries_per_scan: 3\norder:\n  tif: gtc\n  max_working: 1\n"
    h = resting(harness, {"puts.yaml": rules})
    report = await h.day(0, work=False)
    assert report.entries == 1
    refused = [r for r in h.decisions("candidate") if r["outcome"] == "rejected"]
    assert refused[0]["reason"] == "order: max_working 1 reached (1 entry orders working)"


def test_a_portfolio_sets_defaults_a_strategy_overrides(tmp_path):
    (tmp_path / "risk.yaml").write_text("portfolio: risk\norder:\n  tif: gtc\n  timeout: 1h\n")
    (tmp_path / "puts.yaml").write_text(PUT_SPREAD + "order:\n  timeout: 90s\n")
    rules = load_rules([tmp_path])
    assert policy_for(rules, rules.strategies["puts"]) == OrderPolicy(TimeInForce.GTC, 90.0)
    assert policy_for(rules, None) == OrderPolicy(TimeInForce.GTC, 3600.0)


def test_a_timeout_must_be_a_duration():
    (d,) = checked(PUT_SPREAD + "order:\n  timeout: soon\n").diagnostics
    assert d.code == "E011" and "order.timeout: 'soon' is not a duration" in d.message
