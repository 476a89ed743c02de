"""The scan's guarantees: restart and concurrency safe, one lease holder, the digest once a day,
/cards paging, and the due query on the index (issue 4)."""
from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import select, text
from sqlalchemy.dialects import sqlite

from bot.context import App
from bot.services import clocks, deadline_scan, notify
from bot.services import dispatch as dispatch_service
from scheduler import jobs
from scheduler.jobs import digest_job, hold_lease, scan, scan_job
from storage import due_scan, tickets
from storage import sla_cards as card_store
from storage.db import make_engine, make_sessionmaker
from storage.models import OutboxMessage, Ticket
from tests.harness import COMMUNITY, DISPATCH_CHAT, DISPATCHER, LEADERS_CHAT, RESIDENT, World
from tests.steps import sh


class Crash(BaseException):
    """The process dies mid-scan (not an error the scan would catch and retry)."""


async def dispatched(world: World, n: int, urgency: str = "normal", dispatch: bool = True) -> list[int]:
    """``n`` tickets dispatched to 城市管理局 through the dispatch service (no chat round trips)."""
    ids = []
    async with world.app.sessions() as s:
        for _ in range(n):
            t = await tickets.create(s, now=world.app.now(), code_year=2026, status="TRIAGE", kind="help",
                                     urgency=urgency, text="垃圾没人清运", reporter_id=RESIDENT,
                                     origin_chat_id=COMMUNITY, origin_message_id=None)
            if dispatch:
                await dispatch_service.dispatch(s, world.app, t.id, None, "cgj", [])
            ids.append(t.id)
        await world.app.commit(s)
    await world.settle()
    return ids


async def told(world: World, words: str) -> dict[int, int]:
    """How many outbox messages containing ``words`` each ticket got."""
    rows = await world.rows(select(OutboxMessage).where(OutboxMessage.method == "message"))
    counts: dict[int, int] = {}
    for r in rows:
        if words in (r.payload or {}).get("text", ""):
            counts[r.ticket_id] = counts.get(r.ticket_id, 0) + 1
    return counts


def second_instance(world: World) -> tuple[App, object]:
    engine = make_engine(world.app.settings.database_url)
    app = App(settings=world.app.settings, org=world.app.org, sessions=make_sessionmaker(engine), clock=world.clock)
    return app, engine


async def test_a_crash_mid_scan_then_a_restart_loses_and_doubles_nothing(world: World, monkeypatch):
    ids = await dispatched(world, 6)
    world.clock.set(sh(2026, 11, 23, 21, 5))  # past the 50 % mark of every accept window
    real, calls = clocks._tell, []

    async def dying(*args, **kw):  # noqa: ANN002, ANN003
        calls.append(1)
        if len(calls) == 4:
            raise Crash()
        return await real(*args, **kw)

    monkeypatch.setattr(clocks, "_tell", dying)
    with pytest.raises(Crash):
        await scan(world.app, batch=3)  # dies in the second batch of three
    monkeypatch.setattr(clocks, "_tell", real)
    assert await told(world, "时限提醒") == {i: 1 for i in ids[:3]}  # the first batch committed; the second rolled back whole

    app2, engine = second_instance(world)  # "after the restart"
    try:
        assert await scan(app2) == 3
        assert await scan(world.app) == 0 and await scan(app2) == 0
        assert await told(world, "时限提醒") == {i: 1 for i in ids}
        # Two schedulers scanning at the same moment (a lease lost mid-scan): each row once.
        world.clock.set(sh(2026, 11, 24, 5))  # past 80 %
        counts = await asyncio.gather(scan(world.app), scan(app2), scan(world.app))
        assert sum(counts) == 6
        assert await told(world, "80%") == {i: 1 for i in ids}
    finally:
        await engine.dispose()
    world.app.wake_outbox()  # the second instance's commits woke only its own (absent) outbox worker
    await world.settle()
    assert len([m for m in world.sb.bot_messages(-1001000000020) if "80%" in m["text"]]) == 6


async def test_a_failing_ticket_is_retried_later_and_does_not_stop_the_others(world: World, monkeypatch):
    ids = await dispatched(world, 3)
    world.clock.set(sh(2026, 11, 23, 21, 5))
    real = deadline_scan.on_due

    async def broken(session, app, t, now):  # noqa: ANN001
        if t.id == ids[1]:
            raise RuntimeError("boom")
        return await real(session, app, t, now)

    monkeypatch.setattr(deadline_scan, "on_due", broken)
    assert await scan(world.app) == 2
    t = await world.scalar(select(Ticket).where(Ticket.id == ids[1]))
    assert t.next_check_at > world.clock() + timedelta(minutes=4)
    monkeypatch.setattr(deadline_scan, "on_due", real)
    world.clock.advance(minutes=6)
    assert await scan(world.app) == 1
    assert await told(world, "时限提醒") == {i: 1 for i in ids}


def unwritable(ticket_id: int):  # noqa: ANN201
    """notify.send, but the messages about ``ticket_id`` get no chat: outbox.chat_id is NOT NULL,
    so only the INSERT of the batch's held rows notices."""
    real = notify.send

    def send(session, app, chat_id, text, **kw):  # noqa: ANN001, ANN003
        if kw.get("ticket") is not None and kw["ticket"].id == ticket_id:
            chat_id = None
        return real(session, app, chat_id, text, **kw)

    return send


async def test_a_ticket_that_fails_only_when_its_batch_is_written_holds_up_no_other(world: World, monkeypatch):
    """The failure is the batch's INSERT, not any one ticket's code: the batch is split until the
    ticket is found; every other ticket of the batch commits, that one is looked at again later."""
    ids = await dispatched(world, 5)
    world.clock.set(sh(2026, 11, 23, 21, 5))
    real = notify.send
    monkeypatch.setattr(notify, "send", unwritable(ids[2]))
    assert await scan(world.app) == 4
    assert await told(world, "时限提醒") == {i: 1 for i in ids if i != ids[2]}
    t = await world.scalar(select(Ticket).where(Ticket.id == ids[2]))
    assert t.next_check_at > world.clock() + timedelta(minutes=4)
    monkeypatch.setattr(notify, "send", real)
    assert await scan(world.app) == 0  # not before its retry time
    world.clock.advance(minutes=6)
    assert await scan(world.app) == 1
    assert await told(world, "时限提醒") == {i: 1 for i in ids}


async def test_a_row_that_cannot_be_written_is_not_blamed_on_the_next_ticket(world: World, monkeypatch):
    """Overdue tickets earn cards, and a card reads its department's streak: that read writes the
    rows the batch holds so far, so the first ticket's unwritable row fails inside the second
    ticket's work. The batch is split instead of the second ticket blamed (and then the third ...)."""
    ids = await dispatched(world, 5)
    world.clock.set(sh(2026, 11, 24, 9, 5))
    monkeypatch.setattr(notify, "send", unwritable(ids[0]))
    assert await scan(world.app) == 4
    assert await told(world, "已超时") == {i: 1 for i in ids[1:]}


async def test_only_the_lease_holder_scans(world: World):
    await dispatched(world, 1)
    world.clock.set(sh(2026, 11, 23, 21, 5))
    assert await hold_lease(world.app, "instance-a")
    assert not await hold_lease(world.app, "instance-b")
    assert await scan_job(world.app, "instance-b") == 0
    assert await scan_job(world.app, "instance-a") == 1
    # Instance A stops renewing; after the lease runs out (3 scan intervals) B takes over.
    world.clock.advance(seconds=jobs.lease_ttl(world.app).total_seconds() + 1)
    assert await hold_lease(world.app, "instance-b")
    assert not await hold_lease(world.app, "instance-a")


async def test_morning_digest_once_a_day_on_working_days(world: World):
    await dispatched(world, 2)
    await dispatched(world, 1, urgency="urgent")
    await dispatched(world, 1, dispatch=False)  # waits for a dispatcher
    assert not await digest_job(world.app, "a", now=sh(2026, 11, 24, 8, 0))  # before digest_at 08:30
    assert await digest_job(world.app, "a", now=sh(2026, 11, 24, 8, 31))
    assert not await digest_job(world.app, "a", now=sh(2026, 11, 24, 8, 40))  # once a day
    assert not await digest_job(world.app, "b", now=sh(2026, 11, 24, 9, 0))  # not the lease holder
    await world.settle()
    for chat in (DISPATCH_CHAT, LEADERS_CHAT):
        [digest] = [m["text"] for m in world.sb.bot_messages(chat) if "每日简报" in m["text"]]
        assert "2026-11-24" in digest and "新增 4 件" in digest and "待派单 1 件" in digest
        assert "城市管理局：在办 3，今日到期 2，超时 1" in digest and "#2026-000003" in digest
    assert not await digest_job(world.app, "a", now=sh(2026, 11, 28, 9, 0))  # Saturday
    assert await digest_job(world.app, "a", now=sh(2026, 11, 30, 8, 45))


async def test_cards_are_paged_latest_first(world: World):
    [tid] = await dispatched(world, 1)
    async with world.app.sessions() as s:
        for i in range(12):
            card = await card_store.add_card(s, dept="cgj", ticket_id=tid, round_=i, clock="accept", reason="",
                                             at=sh(2026, 11, 1 + i, 10))
            if i % 2:
                await card_store.turn_red(s, card)
        await s.commit()
    await world.send(DISPATCHER, LEADERS_CHAT, "/cards")
    first = await world.reply_from_bot(LEADERS_CHAT, contains="共 12 张")
    assert "11-12 10:00" in first["text"] and "11-02 10:00" not in first["text"] and "第 1/2 页" in first["text"]
    # Then, in a message of its own, each department's record and under it the dates of its latest
    # eight cards, oldest first (a district's many 承办单位 would outgrow the page's message).
    history = await world.reply_from_bot(LEADERS_CHAT, contains="各部门红黄牌记录")
    assert "城市管理局：黄牌 6" not in first["text"]
    lines = history["text"].splitlines()
    at = lines.index("城市管理局：黄牌 6，红牌 6；连续黄牌 0，连续红牌 0")
    assert lines[at + 1:at + 4] == ["　（更早的 4 张从略）", "　2026-11-05：🟨#2026-000001", "　2026-11-06：🟥#2026-000001"]
    assert "　2026-11-12：🟥#2026-000001" in lines and "　2026-11-04：🟥#2026-000001" not in lines
    qid = await world.sb.press(DISPATCHER, LEADERS_CHAT, first["message_id"], "▶")
    await world.sb.callback_answer(qid)
    await world.settle()
    second = world.sb.message(LEADERS_CHAT, first["message_id"])
    assert "11-02 10:00" in second["text"] and "第 2/2 页" in second["text"]
    assert world.sb.buttons(second) == [["◀"]]


async def first_plan(world: World, run) -> str:  # noqa: ANN001
    """SQLite's query plan for the first statement ``run(session)`` executes (then rolled back)."""
    if not world.app.settings.database_url.startswith("sqlite"):
        pytest.skip("query plan checked on SQLite")
    async with world.app.sessions() as s:
        captured = []
        real_execute = s.execute

        async def spy(stmt, *a, **kw):  # noqa: ANN001, ANN002, ANN003
            captured.append(stmt)
            return await real_execute(stmt, *a, **kw)

        s.execute = spy  # type: ignore[method-assign]
        await run(s)
        sql = str(captured[0].compile(dialect=sqlite.dialect(), compile_kwargs={"literal_binds": True}))
        plan = " ".join(str(r) for r in (await real_execute(text("EXPLAIN QUERY PLAN " + sql))).all())
        await s.rollback()
    return plan


async def test_the_due_query_uses_the_next_check_index(world: World):
    plan = await first_plan(world, lambda s: due_scan.due(s, world.app.now(), 100, (world.app.now(), 5)))
    assert "SEARCH tickets USING COVERING INDEX ix_tickets_next_check" in plan, plan
    assert "SCAN tickets" not in plan, plan


async def test_a_batch_claim_looks_its_rows_up_by_primary_key(world: World):
    """A claim costs what is claimed: at a million open tickets a table scan per batch made the
    scan three times slower than at ten thousand."""
    plan = await first_plan(world, lambda s: due_scan.claim(s, [(1, world.app.now()), (2, world.app.now())]))
    assert "SEARCH tickets USING INTEGER PRIMARY KEY" in plan, plan
    assert "SCAN tickets" not in plan, plan


async def test_the_scheduler_has_one_scan_job_and_one_digest_job_never_one_per_ticket(world: World):
    from scheduler.setup import start_scheduler

    await dispatched(world, 3)
    sched = start_scheduler(world.app, world.bot, jobs.instance_id())
    try:
        assert sorted(j.id for j in sched.get_jobs()) == ["bulletins", "deadline-scan", "morning-digest"]
        holder = sched.get_job("deadline-scan").args[1]
        world.clock.set(sh(2026, 11, 23, 21, 5))
        assert await scan_job(world.app, holder) == 3
        assert not await hold_lease(world.app, jobs.instance_id())  # a second instance waits
    finally:
        sched.shutdown(wait=False)


async def test_a_claim_keeps_the_due_order(world: World):
    """The scan handles a batch in deadline order, so of two tickets of one department that fall
    due together the earlier earns the yellow card and the later the red one (RETURNING gives
    rows in no order on PostgreSQL)."""
    ids = await dispatched(world, 3)
    async with world.app.sessions() as s:
        seen = [(t.id, t.next_check_at) for t in await s.scalars(select(Ticket).where(Ticket.id.in_(ids)))]
        wanted = [seen[2], seen[0], seen[1]]
        assert await due_scan.claim(s, wanted) == [seen[2][0], seen[0][0], seen[1][0]]
        await s.rollback()
