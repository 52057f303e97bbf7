"""Hot reload: a broken save keeps the running rules and prints lint's diagnostics; a good save
prints the shadow diff and swaps; versions are recorded per decision; watchfiles drives it."""

from __future__ import annotations

import asyncio
import io
import time

import pytest

from rulesengine.check.checker import check_file
from rulesengine.check.summary import print_text
from rulesengine.engine.reload import SETTLE, Reloader, settled
from tests.engine.harness import PUT_SPREAD

pytestmark = pytest.mark.anyio


def reloader(h) -> Reloader:
    return Reloader(h.engine, [str(h.rules_dir)], h.messages.append)


async def test_a_broken_file_keeps_the_running_rules_and_prints_lints_diagnostics(harness):
    h = harness()
    await h.day(0)
    before = h.engine.rules
    path = h.rules_dir / "puts.yaml"
    path.write_text(PUT_SPREAD.replace("credit >= $0.50", "credt >= $0.50"))
    assert await reloader(h).attempt() is False
    assert h.engine.rules is before
    lint = io.StringIO()
    print_text([check_file(path, str(path))], out=lint)
    assert h.messages[0] == lint.getvalue().rstrip()  # exactly what `rules lint` prints
    assert "did you mean 'credit'?" in h.messages[0]
    assert h.messages[1] == "puts.yaml refused: still running v1"
    assert any("running rules stay active" in m for m in h.messages[2:])
    failed = h.journal.db.execute("SELECT * FROM rule_versions WHERE status='failed'").fetchall()
    assert len(failed) == 1 and "credt" in failed[0]["text"]
    assert (await h.day(1)).decisions  # the engine keeps trading on the old rules


async def test_a_good_save_prints_the_shadow_diff_and_swaps_between_ticks(harness):
    h = harness()
    await h.day(0)
    old_version = h.engine.rules.strategies["puts"].version
    path = h.rules_dir / "puts.yaml"
    path.write_text(
        PUT_SPREAD.replace("strike == short.strike - 25", "strike == short.strike - 50")
    )
    r = reloader(h)
    assert await r.attempt() is True
    new_version = h.engine.rules.strategies["puts"].version
    assert new_version != old_version
    assert h.messages[0] == (
        "puts.yaml v2 active: legs: ... == short.strike - 25 -> 50 ...; "
        "on the last snapshot: 1 -> 1 candidates, no change"
    )
    assert f"(rules version {h.engine.rules.version}; checked and swapped in" in h.messages[-1]
    plus = [m for m in h.messages if m.startswith("  puts: + ")]
    minus = [m for m in h.messages if m.startswith("  puts: - ")]
    assert plus and minus  # 50-wide spreads replace the 25-wide ones
    await h.day(1)
    versions = {r["version"] for r in h.decisions("scan")}
    assert versions == {old_version, new_version}  # each decision names the version that made it
    old_position = h.positions("open")[0]
    assert old_position.version == old_version  # positions stay tied to the version that opened


async def test_removed_strategy_keeps_managing_its_positions(harness):
    h = harness(
        {
            "puts.yaml": PUT_SPREAD.replace(
                "stop_loss: pnl <= -10 * max_profit", "time_stop: dte <= 45"
            ),
            "other.yaml": PUT_SPREAD.replace("strategy: puts", "strategy: other"),
        }
    )
    await h.day(0)
    (h.rules_dir / "puts.yaml").unlink()
    assert await reloader(h).attempt() is True
    assert "  puts: removed (open positions keep their rules)" in h.messages
    report = await h.day(1)
    assert report.exits >= 1  # puts' time stop still fired


async def test_watchfiles_reloads_a_save(harness):
    h = harness()
    r = reloader(h)
    stop = asyncio.Event()
    task = asyncio.create_task(r.watch(stop))
    path = h.rules_dir / "puts.yaml"
    # the watcher needs a moment to start: save again (the same change) until it has seen one
    for _ in range(20):
        path.write_text(PUT_SPREAD.replace("credit >= $0.50", "credit >= $0.60"))
        saved = time.perf_counter()
        while r.last_ms is None and time.perf_counter() - saved < 1.0:
            await asyncio.sleep(0.01)
        if r.last_ms is not None:
            break
    stop.set()
    await task
    assert r.last_ms is not None
    assert "credit >= $0.60" in h.engine.rules.strategies["puts"].program.text


async def test_a_save_that_clashes_with_another_file_is_rejected(harness):
    h = harness()
    before = h.engine.rules
    (h.rules_dir / "copy.yaml").write_text(PUT_SPREAD)
    assert await reloader(h).attempt() is False
    assert h.engine.rules is before
    assert h.messages[0].startswith("two files define strategy 'puts'")


HALF_SAVED = PUT_SPREAD[: PUT_SPREAD.index("exit:")]  # a save cut off before its exits


async def test_a_half_saved_file_is_refused_until_the_trader_forces_it(harness):
    """Issue 13 #6: the truncated file used to go live with no exits for its positions."""
    h = harness()
    await h.day(0)
    assert h.positions("open")
    before = h.engine.rules
    (h.rules_dir / "puts.yaml").write_text(HALF_SAVED)
    r = reloader(h)
    assert await r.attempt() is False and h.engine.rules is before
    assert "  puts: its 1 open position(s) would have no exit rules" in h.messages
    marker = h.rules_dir / ".force-reload"
    assert f"  to apply it anyway: touch {marker}" in h.messages
    marker.touch()
    assert await r.attempt() is True and not marker.exists()
    assert "  forced: puts: its 1 open position(s) would have no exit rules" in h.messages


async def test_dropping_a_limit_or_a_breaker_is_refused(harness):
    guarded = (
        PUT_SPREAD + "limits:\n  max_positions: 3\nbreakers:\n  loss: day_pnl <= -$500 -> halt\n"
    )
    h = harness({"puts.yaml": guarded})
    before = h.engine.rules
    (h.rules_dir / "puts.yaml").write_text(PUT_SPREAD + "limits:\n  max_positions: 3\n")
    assert await reloader(h).attempt() is False and h.engine.rules is before
    assert "  strategy puts: breakers loss would be dropped" in h.messages


async def test_the_watcher_survives_a_failing_reload_and_sees_the_next_save(harness):
    h = harness()
    r = reloader(h)
    real, calls = r.attempt, []

    async def first_fails():
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("disk vanished")
        return await real()

    r.attempt = first_fails
    stop = asyncio.Event()
    task = asyncio.create_task(r.watch(stop))
    path = h.rules_dir / "puts.yaml"
    for n in range(40):  # keep saving until a reload after the failure has landed
        path.write_text(PUT_SPREAD.replace("credit >= $0.50", f"credit >= $0.{n + 10}"))
        await asyncio.sleep(0.3)
        if r.last_ms is not None:
            break
    stop.set()
    await task
    assert any(
        "reload failed (RuntimeError: disk vanished); still watching" in m for m in h.messages
    )
    assert r.last_ms is not None and len(calls) >= 2


async def test_a_file_written_in_pieces_is_read_once_complete(harness, tmp_path):
    path = tmp_path / "slow.yaml"
    path.write_text(HALF_SAVED)

    async def finish_writing():  # in pieces, each pause shorter than SETTLE
        for end in (len(HALF_SAVED) + 40, len(HALF_SAVED) + 80, len(PUT_SPREAD)):
            await asyncio.sleep(SETTLE / 3)
            path.write_text(PUT_SPREAD[:end])

    writer = asyncio.create_task(finish_writing())
    await settled([path])
    seen = path.read_text()  # what a reload would read now
    await writer
    assert seen == PUT_SPREAD


async def test_a_check_that_takes_too_long_is_refused_without_stalling(harness, monkeypatch):
    from rulesengine.engine import reload

    h = harness()
    before = h.engine.rules
    monkeypatch.setattr(reload, "CHECK_TIMEOUT", 0.05)
    monkeypatch.setattr(reload, "load_rules", lambda paths: time.sleep(0.5) or before)
    assert await reloader(h).attempt() is False and h.engine.rules is before
    assert "  checking the rules took longer than 0s" in h.messages


async def test_rapid_saves_coalesce_into_the_last_text(harness):
    """Ten saves 20 ms apart (an editor's autosave, a formatter): the stability wait reads
    the file once it stops changing, so the last text goes live, not a middle one."""
    h = harness()
    r = reloader(h)
    stop = asyncio.Event()
    task = asyncio.create_task(r.watch(stop))
    path = h.rules_dir / "puts.yaml"
    await asyncio.sleep(0.5)  # the watcher starts
    for cents in range(51, 61):
        path.write_text(PUT_SPREAD.replace("credit >= $0.50", f"credit >= $0.{cents}"))
        await asyncio.sleep(0.02)
    deadline = time.perf_counter() + 10
    while "credit >= $0.60" not in h.engine.rules.strategies["puts"].program.text:
        assert time.perf_counter() < deadline, h.messages
        await asyncio.sleep(0.05)
    stop.set()
    await task
    active = [m for m in h.messages if " active: " in m]
    assert active and active[-1].startswith("puts.yaml v")
    assert "-> $0.60" in active[-1]
    assert len(active) <= 3  # coalesced: not one reload per save
