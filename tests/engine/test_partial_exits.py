"""Issue 15: scale-outs as plain rules. `-> close 50%` and `-> close 1` close part of a
position, which keeps its id, lineage and the rest; each step fires once; realised P&L of
the parts and the final close add up with the paper account to the cent."""

from __future__ import annotations

import re

import pytest

from tests.conftest import checked
from tests.engine.harness import PUT_SPREAD
from tests.engine.test_rolls import ROLLING

pytestmark = pytest.mark.anyio

SCALE_OUT = PUT_SPREAD.replace("contracts: 1", "contracts: 4").replace(
    "  stop_loss: pnl <= -10 * max_profit\n",
    "  half: dte <= 45 -> close 50%\n  one_more: dte <= 44 -> close 1\n  rest: dte <= 43\n",
)


async def test_a_scale_out_plan_closes_in_steps_and_keeps_the_position(harness):
    h = harness({"puts.yaml": SCALE_OUT})
    await h.day(0)
    (p,) = h.positions("open")
    assert p.quantity == 4
    await h.day(1)  # dte 45: half
    p1 = h.journal.position(p.id)
    assert p1.status == "open" and p1.quantity == 2 and p1.detail["partial_exits"] == ["half"]
    half = [r for r in h.decisions("exit") if r["outcome"] == "closing"]
    assert half[-1]["reason"].startswith("half (close 50%: 2 of 4): dte <= 45")
    await h.day(2)  # dte 44: one more (half does not fire again)
    p2 = h.journal.position(p.id)
    assert p2.quantity == 1 and p2.detail["partial_exits"] == ["half", "one_more"]
    await h.day(3)  # dte 43: the rest
    closed = h.journal.position(p.id)
    assert closed.status == "closed" and closed.exit_reason.startswith("rest: dte <= 43")
    # every part booked: the parts and the final close add up to what the fills paid
    fills = h.journal.db.execute(
        "SELECT f.quantity, f.price, f.fees FROM fills f JOIN orders o ON f.order_key = o.key "
        "WHERE o.position_id = ?",
        (p.id,),
    ).fetchall()
    cash = sum(-f["quantity"] * float(f["price"]) * 100 - float(f["fees"]) for f in fills)
    assert round(closed.realised_pnl, 2) == round(cash, 2)


def test_the_checker_reads_exit_sizes():
    text = (
        "strategy: s\nlegs:\n  short: put where delta > -0.3\n  long: put where strike == "
        "short.strike - 5\nexit:\n  a: pnl >= 25% of max_profit -> close 25%\n"
        "  b: pnl >= 50% of max_profit -> close 2\n  stop: pnl <= -2 * entry_credit\n"
    )
    program = checked(text).program
    a, b = program.exit_sizes["a"], program.exit_sizes["b"]
    assert (a.contracts(4), a.contracts(3), a.contracts(1)) == (1, 1, 1)  # at least one
    assert (b.contracts(4), b.contracts(1)) == (2, 1)
    assert "stop" not in program.exit_sizes  # a plain exit closes everything


@pytest.mark.parametrize(
    ("action", "says"),
    [
        ("-> close 0%", "close needs a share of the position (1% to 100%)"),
        ("-> close 150%", "close needs a share of the position"),
        ("-> close 1.5", "must be a whole number"),
        ("-> sell 25%", "unknown exit action 'sell'"),
    ],
)
def test_bad_exit_sizes_are_named(action, says):
    text = f"strategy: s\nlegs:\n  short: put where delta > -0.3\nexit:\n  a: pnl > 0 {action}\n"
    assert any(says in d.message for d in checked(text).diagnostics)


# the roller of test_rolls with its `roll:` section replaced by an exit that rolls
ROLL_EXIT = re.sub(
    r"roll:\n(  .*\n)+", "", ROLLING.format(credit_only="false", fallback="[]")
).replace("exit:\n", "exit:\n  roll_out: dte <= 200 -> roll\n")


async def test_an_exit_can_roll_instead_of_closing(harness):
    h = harness({"roller.yaml": ROLL_EXIT})
    await h.day(0)
    (first,) = h.positions("open")
    report = await h.day(1)
    assert report.rolls == 1 and report.exits == 0
    old = h.journal.position(first.id)
    assert old.status == "closed" and old.exit_reason == "roll: roll_out: dte <= 200 (dte = 45)"
    (new,) = h.positions("open")
    assert new.parent_id == first.id and new.roll_number == 1


def test_roll_and_close_actions_are_checked():
    head = "strategy: s\nlegs:\n  short: put where delta > -0.3\nexit:\n  a: pnl > 0 "
    assert checked(head + "-> roll\n").program.exit_rolls == ("a",)
    sized = [d.message for d in checked(head + "-> roll 2\n").diagnostics]
    assert "`-> roll` takes no size" in sized
    bare = [d.message for d in checked(head + "-> close\n").diagnostics]
    assert any("`-> close` needs a size" in m for m in bare)
