"""/report, /export and `python -m bot export` for a year far in the past: refused as before the first
ticket, not a crash."""
from __future__ import annotations



from tests.harness import CGJ_CHAT, DISPATCH_CHAT, DISPATCHER, LEADER, World
from tests.steps import ZH, dispatched, sh
from tests.test_export_cli import run_export


async def test_report_for_year_0001_is_refused_not_a_crash(world: World):
    await dispatched(world, "小区门口垃圾没人清运", CGJ_CHAT)
    world.clock.set(sh(2026, 12, 1, 10))
    await world.send(DISPATCHER, DISPATCH_CHAT, "/report 0001")
    answer = await world.reply_from_bot(DISPATCH_CHAT, contains="0001")
    assert answer["text"] == ZH("period.before_first", period="0001", first="2026-11-23")


async def test_export_for_year_0001_is_refused_not_a_crash(world: World):
    await dispatched(world, "小区门口垃圾没人清运", CGJ_CHAT)
    world.clock.set(sh(2026, 12, 1, 10))
    await world.send(LEADER, LEADER, "/export ledger 0001")
    answer = await world.reply_from_bot(LEADER, contains="0001")
    assert answer["text"] == ZH("period.before_first", period="0001", first="2026-11-23")


async def test_cli_export_for_year_0001_gives_one_line_and_exit_2(world: World, tmp_path):
    await dispatched(world, "小区门口垃圾没人清运", CGJ_CHAT)
    done = run_export(world, "ledger", "0001", "--out", str(tmp_path / "x.xlsx"))
    assert (done.returncode, "Traceback" in done.stderr, done.stderr.count("\n")) == (2, False, 1), done.stderr
    assert "0001" in done.stderr
