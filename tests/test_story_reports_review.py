"""督/考 figures as an outside review used them (tests of findings that were defects): a late 签收
stays late whatever the dispatcher reclassifies afterwards; the longest-overdue list names the
step that was late."""
from __future__ import annotations

from sqlalchemy import select

from storage.models import Assignment
from tests.harness import COMMUNITY, DISPATCH_CHAT, DISPATCHER, RESIDENT, SW_CHAT, SW_HANDLER, World
from tests.steps import accept, has_button, press, rate, resolve, scan_at, sh

URGENT = "#紧急 小区下水道堵了，污水已经漫到一楼门口"  # straight to 水务局: 30 min to accept


async def report_text(world: World) -> str:
    world.clock.set(sh(2026, 12, 1, 10))
    await world.send(DISPATCHER, DISPATCH_CHAT, "/report 2026-11")
    return (await world.reply_from_bot(DISPATCH_CHAT, contains="诉求办理通报"))["text"]


async def late_acceptance(world: World) -> dict:
    await world.send(RESIDENT, COMMUNITY, URGENT)
    card = await world.reply_from_bot(SW_CHAT, predicate=has_button("签收"))
    await scan_at(world, sh(2026, 11, 23, 11))  # two hours after the dispatch: the 30 minutes are long gone
    await accept(world, SW_HANDLER, SW_CHAT, card)
    return card


async def test_a_late_acceptance_stays_late_when_the_dispatcher_makes_the_ticket_normal_afterwards(world: World):
    await late_acceptance(world)
    [row] = await world.rows(select(Assignment))
    due = row.accept_due
    world.clock.set(sh(2026, 11, 23, 12))
    dispatch_card = await world.reply_from_bot(DISPATCH_CHAT, predicate=has_button("改普通"), since=0)
    await press(world, DISPATCHER, DISPATCH_CHAT, dispatch_card, "改普通")
    [row] = await world.rows(select(Assignment))
    assert row.accept_due == due  # the step is done and was late: its deadline is history
    assert "响应率 0.0% (0/1)" in await report_text(world)


async def test_the_longest_overdue_names_a_late_acceptance_not_a_late_resolution(world: World):
    card = await late_acceptance(world)
    await rate(world, await resolve(world, SW_HANDLER, SW_CHAT, card, "已疏通"), "非常满意")  # in time
    text = await report_text(world)
    assert "办结率 100.0% (1/1)" in text
    [line] = [x for x in text.splitlines() if x.startswith("#2026-000001 水务局")]
    assert line.startswith("#2026-000001 水务局 超期 ") and line.endswith(" 后签收")


async def test_a_report_longer_than_one_message_reaches_the_chat_whole_and_in_order(world: World):
    import io

    from matplotlib.figure import Figure

    from bot.services import reports

    png = io.BytesIO()
    Figure(figsize=(1, 1)).savefig(png, format="png")
    lines = [f"{n}. 第{n}承办单位（区城市管理综合执法局） 92.5分｜派单 20　超期 0　红牌 0" for n in range(1, 121)]
    async with world.app.sessions() as session:
        await reports.queue(session, world.app, DISPATCH_CHAT, reports.Rendered("\n".join(lines), "图", png.getvalue()))
        await session.commit()
    await world.reply_from_bot(DISPATCH_CHAT, predicate=lambda m: "photo" in m)
    said = [m["text"] for m in world.sb.bot_messages(DISPATCH_CHAT) if "text" in m]
    assert len(said) == 2 and "\n".join(said).split("\n") == lines  # the 120th place too, nothing cut
