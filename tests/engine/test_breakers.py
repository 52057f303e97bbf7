"""Each breaker semantic, locks that survive restarts, `rules unlock`, and the kill switch."""

from __future__ import annotations

from datetime import time

import pytest

from brokers.paper.fills import FillPolicy
from rulesengine.cli.main import main
from rulesengine.engine.breakers import Gate, gate
from rulesengine.engine.ruleset import load_rules
from tests.engine.harness import PUT_SPREAD

pytestmark = pytest.mark.anyio

EXIT_NEXT_DAY = PUT_SPREAD.replace("stop_loss: pnl <= -10 * max_profit", "time_stop: dte <= 45")


def risk(action: str, condition: str = "net_liq > 0") -> str:
    return f"portfolio: risk\nbreakers:\n  always: {condition} -> {action}\n"


async def trip_after_entry(harness, action: str, resting: bool = False):
    """Enter on day 0 without breakers, then add a portfolio breaker that trips on day 1."""
    h = harness({"puts.yaml": EXIT_NEXT_DAY})
    if resting:  # keep day 0's entry order working: no walk toward natural
        h.broker.policy = FillPolicy(reprice=False)
    await h.day(0, work=not resting)
    (h.rules_dir / "risk.yaml").write_text(risk(action))
    h.engine.swap_rules(load_rules([h.rules_dir]))
    return h


def test_gate_table():
    assert Gate().entries and Gate().rolls and Gate().exits
    block = Gate("block_entries")
    assert not block.entries and block.rolls and block.exits and not block.cancel_entries
    reduce = Gate("reduce_only")
    assert not reduce.entries and not reduce.rolls and reduce.exits and reduce.cancel_entries
    halt = Gate("halt")
    assert not halt.entries and not halt.rolls and not halt.exits and halt.cancel_entries
    close = Gate("close_all")
    assert close.exits and close.close_all and close.cancel_entries


async def test_block_entries_stops_scans_but_exits_continue(harness):
    h = await trip_after_entry(harness, "block_entries")
    report = await h.day(1)
    assert report.trips == ["portfolio.always -> block_entries"]
    assert report.exits == 1  # the time stop still closed the position
    assert report.entries == 0
    blocked = [r for r in h.decisions("scan") if r["outcome"] == "blocked"]
    assert blocked and "breaker always" in blocked[-1]["reason"]
    (alert,) = [a for a in h.journal.alerts() if a["level"] == "breaker"]
    assert "portfolio.always tripped -> block_entries" in alert["message"]


async def test_halt_sends_nothing_and_cancels_working_entries(harness):
    h = await trip_after_entry(harness, "halt", resting=True)
    (order,) = h.journal.orders(("working",))
    await h.day(0, at=time(15, 50), work=False)  # later the same day: the order still rests
    assert h.journal.order(order.key).status == "cancelled"
    assert [r["outcome"] for r in h.decisions("cancel")] == ["cancelled"]
    assert h.positions("opening") == [] and h.positions("unfilled")


async def test_halt_holds_exits(harness):
    h = await trip_after_entry(harness, "halt")
    report = await h.day(1)
    assert report.exits == 0
    (held,) = [r for r in h.decisions("exit") if r["outcome"] == "held"]
    assert held["reason"].startswith("time_stop: dte <= 45") and "breaker always" in held["reason"]
    assert h.positions("open")


async def test_reduce_only_cancels_working_entries(harness):
    h = await trip_after_entry(harness, "reduce_only", resting=True)
    (order,) = h.journal.orders(("working",))
    await h.day(0, at=time(15, 50), work=False)  # later the same day: the order still rests
    assert h.journal.order(order.key).status == "cancelled"


async def test_reduce_only_still_exits(harness):
    h = await trip_after_entry(harness, "reduce_only")
    report = await h.day(1)
    assert report.trips == ["portfolio.always -> reduce_only"]
    assert report.exits == 1 and report.entries == 0


async def test_close_all_closes_every_position(harness):
    h = harness({"puts.yaml": PUT_SPREAD})
    await h.day(0)
    await h.day(1)
    held = h.positions("open")
    assert held
    (h.rules_dir / "risk.yaml").write_text(risk("close_all"))
    h.engine.swap_rules(load_rules([h.rules_dir]))
    report = await h.day(2)
    assert report.exits == len(held) and report.entries == 0
    closed = h.positions("closed")
    assert {p.id for p in closed} == {p.id for p in held}
    assert all(p.exit_reason.startswith("close_all (breaker always") for p in closed)


async def test_locks_survive_restart_until_lifted(harness):
    h = await trip_after_entry(harness, "block_entries")
    await h.day(1)
    (h.rules_dir / "risk.yaml").unlink()  # the rule is gone, its lock is not
    h.journal.close()
    h.open()
    now = h.clock.now()
    assert gate(h.journal.locks(), "puts", now).action == "block_entries"
    (lock,) = h.journal.locks()
    assert lock.until is not None and lock.until.hour == 9  # the next session's open
    assert main(["unlock", "always", "--data-dir", str(h.data_dir)]) == 0
    assert gate(h.journal.locks(), "puts", now).action is None


async def test_breaker_with_duration_unlocks_by_itself(harness):
    h = harness({"puts.yaml": PUT_SPREAD, "risk.yaml": risk("halt for 30m", "open_positions >= 1")})
    await h.day(0)
    assert h.journal.locks() == []  # breakers run before the day's entry
    await h.day(1)
    (lock,) = h.journal.locks()
    assert lock.action == "halt"
    assert (lock.until - lock.started_at).total_seconds() == 1800
    assert "open_positions = 1" in lock.reason
    assert gate(h.journal.locks(), "puts", lock.started_at).action == "halt"
    assert gate(h.journal.locks(), "puts", lock.until).action is None
    await h.day(2)  # unlocked, still one position: the same evidence does not lock again
    assert len(h.journal.locks()) == 1


async def test_daily_loss_reads_the_days_account_change(harness):
    h = harness({"puts.yaml": PUT_SPREAD, "risk.yaml": risk("halt", "day_pnl <= -$1")})
    await h.day(0)
    scalars = await h.engine.scalars(h.clock.now())
    assert scalars["day_pnl"] < 0  # fees and the walk toward natural cost money on day 0
    day0_close = list(h.journal.snapshots())[-1]["net_liq"]  # after day 0's orders worked
    await h.day(1)
    day_pnl = h.engine.context.account["day_pnl"]
    assert day_pnl == pytest.approx(h.engine.context.account["net_liq"] - day0_close)
    tripped = any(lock.name == "always" for lock in h.journal.locks())
    assert tripped == (day_pnl <= -1)


async def test_kill_switch_file_and_cli(harness, capsys):
    h = harness()
    (h.data_dir / "KILL").write_text("going on holiday\n")
    report = await h.day(0)
    assert report.entries == 0
    assert report.trips == ["kill.kill_switch -> halt"]
    assert "going on holiday" in h.journal.locks()[0].reason
    assert main(["unlock", "kill_switch", "--data-dir", str(h.data_dir)]) == 0
    assert not (h.data_dir / "KILL").exists()
    assert (await h.day(1)).entries == 1
    assert main(["kill", "--reason", "manual", "--data-dir", str(h.data_dir)]) == 0
    assert "rules unlock kill_switch" in capsys.readouterr().out
    assert (await h.day(2)).entries == 0


def test_unlock_names_the_held_locks_when_the_name_is_wrong(tmp_path, capsys):
    assert main(["kill", "--data-dir", str(tmp_path)]) == 0
    assert main(["unlock", "daily_los", "--data-dir", str(tmp_path)]) == 1
    assert "held: kill_switch" in capsys.readouterr().err


async def test_consecutive_broker_errors_trip_the_breaker(harness):
    from brokers.errors import BrokerUnavailable

    h = harness({"puts.yaml": PUT_SPREAD, "risk.yaml": risk("halt for 30m", "broker_errors >= 3")})
    await h.day(0)
    real_account = h.broker.account

    async def failing_account():
        raise BrokerUnavailable("503 from the broker", broker="paper")

    h.broker.account = failing_account
    trips = []
    for minute in (56, 57, 58):  # after day 0's order work (15:45-15:55)
        trips += (await h.day(0, at=time(15, minute), work=False)).trips
    assert trips == ["portfolio.always -> halt"]
    (lock,) = h.journal.locks()
    assert "broker_errors = 3" in lock.reason
    errors = [a for a in h.journal.alerts() if a["level"] == "error"]
    assert len(errors) == 3 and "503 from the broker" in errors[0]["message"]
    h.broker.account = real_account
