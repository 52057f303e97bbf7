"""Rolls as one combo order with lineage, and the fallback chain when no target passes."""

from __future__ import annotations

import shutil

import pytest

from rulesengine.engine.ruleset import load_rules

pytestmark = pytest.mark.anyio

ROLLING = """
strategy: roller
universe: [SPX]
legs:
  short: put where dte between 30 and 120 and delta between -0.30 and -0.20 and bid > 0
  long: put where expiry == short.expiry and strike == short.strike - 25 and bid > 0
entry:
  - credit >= $0.50
rank: 1000 - min_dte
size:
  contracts: 1
exit:
  stop_loss: pnl <= -10 * max_profit
roll:
  when: dte <= 200
  credit_only: {credit_only}
  fallback: {fallback}
limits:
  max_positions: 1
"""


def rolling(credit_only: str = "false", fallback: str = "[close_if_profitable, alert]") -> dict:
    return {"roller.yaml": ROLLING.format(credit_only=credit_only, fallback=fallback)}


async def test_roll_closes_and_opens_in_one_order_with_lineage(harness):
    h = harness(rolling())
    await h.day(0)
    (first,) = h.positions("open")
    report = await h.day(1)
    assert report.rolls == 1
    old = h.journal.position(first.id)
    assert old.status == "closed" and old.exit_reason.startswith("roll: dte <= 200")
    (new,) = h.positions("open")
    assert new.parent_id == first.id and new.root_id == first.id and new.roll_number == 1
    assert new.expiry > first.expiry  # rolled out in time
    (order,) = [o for o in h.journal.orders() if o.purpose == "roll"]
    assert order.status == "filled"
    assert order.legs.count(" close") == 2 and order.legs.count(" open") == 2
    # the second roll keeps the root
    await h.day(2)
    (third,) = [p for p in h.positions() if p.parent_id == new.id]
    assert third.root_id == first.id and third.roll_number == 2
    assert h.decisions("roll")[-1]["reason"].endswith(f"roll 2 of {first.id} for a net +0.00")


async def without_targets(h) -> None:
    """Yesterday's rules entered; today's edit lets no structure pass entry (no roll target)."""
    path = h.rules_dir / "roller.yaml"
    path.write_text(path.read_text().replace("credit >= $0.50", "credit >= $500"))
    h.engine.swap_rules(load_rules([h.rules_dir]))


async def test_fallback_closes_when_profitable(harness):
    h = harness(rolling())
    await h.day(0)
    (p,) = h.positions("open")
    await without_targets(h)
    live = h.engine.positions[p.id]
    live.entry_price += 5  # as if it had been sold much higher: now well in profit
    report = await h.day(1)
    assert report.rolls == 0 and report.exits == 1
    closed = h.journal.position(p.id)
    assert closed.exit_reason.startswith("roll fallback, closed at a profit (no roll target")


async def test_fallback_alerts_when_not_profitable(harness):
    h = harness(rolling())
    await h.day(0)
    (p,) = h.positions("open")
    await without_targets(h)
    h.engine.positions[p.id].entry_price -= 5  # deep in loss: close_if_profitable passes
    report = await h.day(1)
    assert report.exits == 0 and report.rolls == 0
    assert h.journal.position(p.id).status == "open"
    (alert,) = [a for a in h.journal.alerts() if a["level"] == "roll"]
    assert "needs a roll" in alert["message"] and "no roll target" in alert["message"]
    await h.day(2)  # alerted once per day, not on every monitor tick
    assert len([a for a in h.journal.alerts() if a["level"] == "roll"]) == 2


async def test_credit_only_skips_targets_that_net_no_credit(harness):
    h = harness(rolling(credit_only="true", fallback="[alert]"))
    await h.day(0)
    assert (await h.day(1)).rolls == 1  # this roll nets +1.15: taken either way
    # today the best-ranked target nets 0.00 (taken without credit_only, see above);
    # credit_only passes over it to the best target that nets a credit
    assert (await h.day(2)).rolls == 1
    net = float(h.decisions("roll")[-1]["reason"].rsplit("for a net ", 1)[1])
    assert net >= 0.05


async def test_credit_only_without_a_credit_target_takes_the_fallback(harness):
    h = harness(rolling(credit_only="true", fallback="[alert]"))
    await h.day(0)
    assert len(h.positions("open")) == 1
    path = h.rules_dir / "roller.yaml"  # only tiny credits pass now: every roll is a debit
    path.write_text(path.read_text().replace("credit >= $0.50", "credit <= $0.05"))
    h.engine.swap_rules(load_rules([h.rules_dir]))
    assert (await h.day(1)).rolls == 0
    last = h.decisions("roll")[-1]
    assert last["outcome"] == "alerted"
    assert last["reason"].endswith(
        "is a later expiry passing the legs and entry rules for a net credit"
    )


async def test_block_entries_allows_rolls_but_reduce_only_falls_back(harness):
    for action, rolled in (("block_entries", 1), ("reduce_only", 0)):
        h = harness(rolling())
        await h.day(0)
        (h.rules_dir / "risk.yaml").write_text(
            f"portfolio: risk\nbreakers:\n  b: net_liq > 0 -> {action}\n"
        )
        h.engine.swap_rules(load_rules([h.rules_dir]))
        report = await h.day(1)
        assert report.rolls == rolled, action
        h.journal.close()
        shutil.rmtree(h.tmp / "data")
        (h.tmp / "rules" / "risk.yaml").unlink()
