"""Story: a month of work in two departments, then the monthly 通报 at 09:00 on the first working
day of the next month — rates, ranking, chart and the annex ledgers read back (issue #10)."""
from __future__ import annotations

import io

from openpyxl import load_workbook
from sqlalchemy import select

from bot.services.bulletins import post_due
from scheduler.bulletins import bulletin_job
from storage.models import Bulletin, Ticket
from tests.harness import (
    CGJ_CHAT,
    COMMUNITY,
    DISPATCH_CHAT,
    DISPATCHER,
    HANDLER_A,
    LEADERS_CHAT,
    RESIDENT,
    RESIDENT_2,
    SW_CHAT,
    SW_HANDLER,
    ZJJ_CHAT,
    ZJJ_HANDLER,
    World,
)
from tests.steps import accept, dispatched, open_campaign, rate, resolve, scan_at, sh, supported


async def a_month_of_work(world: World) -> None:
    """Monday 2026-11-23 09:00: seven tickets, on time and late, every rating level and not rated;
    the rubbish makes a 高频共性 alert, and a leader opens a 专项 for it."""
    c1 = await dispatched(world, "小区门口垃圾没人清运", CGJ_CHAT)
    ack = await world.reply_from_bot(COMMUNITY, contains="#2026-000001", since=0)
    await supported(world, RESIDENT_2, ack)  # a neighbour agrees: 附议
    await accept(world, HANDLER_A, CGJ_CHAT, c1)
    await rate(world, await resolve(world, HANDLER_A, CGJ_CHAT, c1, "已清运完毕"), "非常满意")
    c2 = await dispatched(world, "菜市场垃圾桶满了有异味", CGJ_CHAT)
    await accept(world, HANDLER_A, CGJ_CHAT, c2)
    await rate(world, await resolve(world, HANDLER_A, CGJ_CHAT, c2, "已增加垃圾桶"), "比较满意")
    c3 = await dispatched(world, "公园垃圾清运不及时", CGJ_CHAT)
    s4 = await dispatched(world, "楼下水管漏水严重", SW_CHAT)
    await accept(world, SW_HANDLER, SW_CHAT, s4)
    s5 = await dispatched(world, "路口积水一直不退", SW_CHAT)
    await accept(world, SW_HANDLER, SW_CHAT, s5)
    await rate(world, await resolve(world, SW_HANDLER, SW_CHAT, s5, "已疏通下水道"), "基本满意")
    s6 = await dispatched(world, "小区停水两天了", SW_CHAT)
    await accept(world, SW_HANDLER, SW_CHAT, s6)
    await resolve(world, SW_HANDLER, SW_CHAT, s6, "已恢复供水")  # never rated
    await dispatched(world, "河边垃圾堆积没人管", CGJ_CHAT)  # never accepted
    alert = await world.reply_from_bot(LEADERS_CHAT, contains="市容环卫", since=0)
    await open_campaign(world, alert, "一个月内清理全镇垃圾点 2026-12-31")

    # Tuesday 10:00: the accept deadlines have passed (cgj: #3 and #7 get their cards).
    await scan_at(world, sh(2026, 11, 24, 10))
    await accept(world, HANDLER_A, CGJ_CHAT, c3)  # late
    await rate(world, await resolve(world, HANDLER_A, CGJ_CHAT, c3, "已清运"), "不满意")
    await scan_at(world, sh(2026, 11, 24, 12))  # no reason given within the hour: reopened to the department
    for day in (25, 26, 27, 30):
        await scan_at(world, sh(2026, 11, day, 10))  # reminders, cards, and #6 closed as not rated after 7 days
    # Tuesday 1 December 08:00: #4 resolved, late.
    world.clock.set(sh(2026, 12, 1, 8))
    await resolve(world, SW_HANDLER, SW_CHAT, s4, "水管已更换")


EXPECTED_TEXT = [
    "📊 2026年11月 诉求办理通报",
    "统计截至 2026-12-01 09:00",
    "",
    "【总体】",
    "受理诉求 7 件",
    "派单 7，签收 6，办结 6，超期 3，退单 0，重办 1",
    "响应率 71.4% (5/7)；办结率 71.4% (5/7)；满意率 75.0% (3/4)",
    "评价：非常满意 1，比较满意 1，基本满意 1，不满意 1；未评价 1（不计入满意率）",
]
MATTERS = [  # 一类事: the month's hot groups per area, then the 专项 in progress
    "【高频共性问题】（每个区域前 3 项）",
    "港口镇：市容环卫 4 件（附议 1 人）；供水排水 3 件",
    "",
    "【进行中的专项】",
    "专项 #1 港口镇 · 市容环卫｜城市管理局牵头｜截止 2026-12-31｜诉求 2 件，已办结 0 件",
]
RANKING = [
    "1. 水务局　86.7 分｜响应 100.0%　办结 66.7%　满意 100.0%｜派单 3　超期 1　红牌 0",
    "2. 城市管理局　61.7 分｜响应 50.0%　办结 75.0%　满意 66.7%｜派单 4　超期 2　红牌 1",
    "未排名（本期无可考核工单）：住房和城乡建设局",
]


async def test_the_monthly_bulletin_at_nine_on_the_first_working_day(world: World):
    await a_month_of_work(world)
    t6 = await world.scalar(select(Ticket).where(Ticket.text.contains("停水")))
    assert (t6.status, t6.close_reason) == ("CLOSED", "not_rated")

    world.clock.set(sh(2026, 12, 1, 8, 59))
    assert await bulletin_job(world.app, "instance-a", world.clock()) == []
    world.clock.set(sh(2026, 12, 1, 9, 0))
    leaders_before = len(world.sb.bot_messages(LEADERS_CHAT))
    assert await bulletin_job(world.app, "instance-a", world.clock()) == ["2026-11"]
    await world.settle()
    for chat in (LEADERS_CHAT, DISPATCH_CHAT):
        text = await world.reply_from_bot(chat, contains="诉求办理通报", since=0)
        lines = text["text"].splitlines()
        assert lines[:len(EXPECTED_TEXT)] == EXPECTED_TEXT
        ranking = lines[lines.index(next(x for x in lines if x.startswith("【部门排名】"))) + 1:][:3]
        assert ranking == RANKING
        assert lines[lines.index(MATTERS[0]):] == MATTERS
        photo = await world.reply_from_bot(chat, predicate=lambda m: "photo" in m, since=text["message_id"])
        assert photo["caption"] == "2026年11月 各部门响应率、办结率、满意率"
        data = world.sb.world.files[photo["photo"][-1]["file_id"]].data
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(world.sb.bot_messages(LEADERS_CHAT)) == leaders_before + 2

    # Once: a restart at 09:05, or a second instance, finds the record and posts nothing.
    world.clock.set(sh(2026, 12, 1, 9, 5))
    assert await bulletin_job(world.app, "instance-a", world.clock()) == []
    assert await post_due(world.app, world.clock(), "instance-b") == []
    assert [b.period for b in await world.rows(select(Bulletin))] == ["2026-11"]
    await world.settle()
    assert len(world.sb.bot_messages(LEADERS_CHAT)) == leaders_before + 2


def _sheet(world: World, msg: dict) -> list[list[object]]:
    data = world.sb.world.files[msg["document"]["file_id"]].data
    return [list(r) for r in load_workbook(io.BytesIO(data)).active.iter_rows(values_only=True)]


async def test_report_command_and_the_annex_exports(world: World):
    await a_month_of_work(world)
    world.clock.set(sh(2026, 12, 1, 9, 30))
    await world.send(DISPATCHER, DISPATCH_CHAT, "/report 2026-11")
    text = await world.reply_from_bot(DISPATCH_CHAT, contains="诉求办理通报")
    assert text["text"].splitlines()[4:7] == EXPECTED_TEXT[4:7]
    await world.reply_from_bot(DISPATCH_CHAT, predicate=lambda m: "photo" in m, since=text["message_id"])

    await world.send(DISPATCHER, DISPATCH_CHAT, "/export ledger 2026-11")
    doc = await world.reply_from_bot(DISPATCH_CHAT, predicate=lambda m: "document" in m)
    rows = _sheet(world, doc)
    assert rows[0][0] == "诉求问题台账（2026年11月）"
    assert rows[1][0].startswith("提报单位：") and rows[1][-1] == "提报时间：2026-12-01"
    assert rows[2] == ["序号", "企业名称", "存在问题、困难、诉求描述", "建议解决部门", "企业联系人及联系方式", "备注"]
    assert [r[0] for r in rows[3:]] == [1, 2, 3, 4, 5, 6, 7]
    assert rows[3][2].startswith("#2026-000001 ") and rows[3][2].endswith("小区门口垃圾没人清运")
    assert [r[3] for r in rows[3:]] == ["城市管理局"] * 3 + ["水务局"] * 3 + ["城市管理局"]
    assert rows[3][4]  # staff chat: contact details present
    # 备注: where it stands, and 超期 where a department was carded for it.
    assert [r[5] for r in rows[3:]] == ["已关闭", "已关闭", "重新办理中、超期", "已办结，待评价、超期", "已关闭", "已关闭",
                                        "已派单，待签收、超期"]

    await world.send(DISPATCHER, DISPATCH_CHAT, "/export satisfaction 2026-11")
    sat = _sheet(world, await world.reply_from_bot(DISPATCH_CHAT, predicate=lambda m: "document" in m))
    assert sat[2] == ["序号", "问题描述", "解决情况", "解决部门", "满意度评价", "意见建议"]
    assert sorted(r[4] for r in sat[3:]) == ["1.非常满意", "2.比较满意", "3.基本满意", "4.不满意", "未评价"]

    await world.send(DISPATCHER, DISPATCH_CHAT, "/export unsatisfied 2026-11")
    uns = _sheet(world, await world.reply_from_bot(DISPATCH_CHAT, predicate=lambda m: "document" in m))
    assert len(uns) == 4 and uns[3][1] == "#2026-000003" and uns[3][3] == "城市管理局"

    await world.send(DISPATCHER, DISPATCH_CHAT, "/export transfers 2026-11")
    tr = _sheet(world, await world.reply_from_bot(DISPATCH_CHAT, predicate=lambda m: "document" in m))
    assert tr[1] == ["序号", "企业名称", "存在问题、困难、诉求描述", "企业联系人及联系方式", "建议解决部门"]
    assert len(tr) == 2 + 7

    await world.send(DISPATCHER, DISPATCH_CHAT, "/export feedback 2026-11")
    fb = _sheet(world, await world.reply_from_bot(DISPATCH_CHAT, predicate=lambda m: "document" in m))
    # #3's result was rated 不满意 and is being redone: not solved (it read 是, its first 办结 counted).
    assert [r[3] for r in fb[3:]] == ["是", "是", "否", "是", "是", "是", "否"]

    # A department chat exports its own rows; in private the reporters' contacts stay out.
    await world.send(HANDLER_A, CGJ_CHAT, "/export ledger 2026-11")
    own = _sheet(world, await world.reply_from_bot(CGJ_CHAT, predicate=lambda m: "document" in m))
    assert [r[3] for r in own[3:]] == ["城市管理局"] * 4
    await world.send(DISPATCHER, DISPATCHER, "/export ledger 2026-11")
    private = _sheet(world, await world.reply_from_bot(DISPATCHER, predicate=lambda m: "document" in m))
    assert len(private) == 3 + 7 and all(r[1] is None and r[4] is None for r in private[3:])
    await world.send(DISPATCHER, DISPATCHER, "/report")  # the last complete month, in private
    mine = await world.reply_from_bot(DISPATCHER, contains="诉求办理通报")
    assert mine["text"].splitlines()[4:7] == EXPECTED_TEXT[4:7]
    await world.send(HANDLER_A, CGJ_CHAT, "/report")
    await world.reply_from_bot(CGJ_CHAT, contains="只能在领导群")

    # Bad input: a clear answer, nothing posted elsewhere.
    leaders_before = len(world.sb.bot_messages(LEADERS_CHAT))
    await world.send(DISPATCHER, DISPATCH_CHAT, "/export minutes 2026-11")
    assert "ledger" in (await world.reply_from_bot(DISPATCH_CHAT, contains="没有“minutes”"))["text"]
    await world.send(DISPATCHER, DISPATCH_CHAT, "/report 2027-03")
    await world.reply_from_bot(DISPATCH_CHAT, contains="还没有开始")
    await world.send(DISPATCHER, DISPATCH_CHAT, "/report 2026-10")
    await world.reply_from_bot(DISPATCH_CHAT, contains="早于第一张工单")
    await world.send(DISPATCHER, DISPATCH_CHAT, "/report weekly")
    await world.reply_from_bot(DISPATCH_CHAT, contains="2026-Q4")
    await world.send(RESIDENT, COMMUNITY, "/report@huying_bot")  # a bare one is the moderators' bot's
    await world.reply_from_bot(COMMUNITY, contains="只能在领导群")
    await world.send(RESIDENT, COMMUNITY, "/export ledger")
    await world.reply_from_bot(COMMUNITY, contains="只能在工作群")
    await world.send(RESIDENT, RESIDENT, "/export ledger")
    await world.reply_from_bot(RESIDENT, contains="只能在工作群")
    await world.settle()
    assert len(world.sb.bot_messages(LEADERS_CHAT)) == leaders_before


async def test_after_a_half_year_the_bottom_two_are_named_even_when_the_bot_starts_at_nine_oh_five(world: World):
    """Three departments: 住建 on time and 非常满意, 水务 accepting late, 城管 never accepting. The bot is
    down at 09:00 on Monday 4 January 2027 (1 January a holiday, then a weekend) and starts at 09:05:
    December's 通报, the fourth quarter's 测评, the half-year's 排名 and the year's 总评 go out then,
    each once, and the half-year and the year name the bottom two for a written review."""
    await dispatched(world, "小区门口垃圾没人清运", CGJ_CHAT)  # never accepted
    sw = await dispatched(world, "楼下水管漏水严重", SW_CHAT)
    zjj = await dispatched(world, "小区电梯坏了一周没人修", ZJJ_CHAT)
    await accept(world, ZJJ_HANDLER, ZJJ_CHAT, zjj)
    await rate(world, await resolve(world, ZJJ_HANDLER, ZJJ_CHAT, zjj, "电梯已修好"), "非常满意")
    world.clock.set(sh(2026, 11, 26, 10))  # past the accept deadline
    await accept(world, SW_HANDLER, SW_CHAT, sw)
    await rate(world, await resolve(world, SW_HANDLER, SW_CHAT, sw, "水管已更换"), "比较满意")

    leaders_before = len(world.sb.bot_messages(LEADERS_CHAT))
    world.clock.set(sh(2027, 1, 4, 9, 5))
    assert await bulletin_job(world.app, "instance-a", world.clock()) == ["2026-12", "2026-Q4", "2026-H2", "2026"]
    await world.settle()
    texts = {m["text"].splitlines()[0]: m["text"].splitlines()
             for m in world.sb.bot_messages(LEADERS_CHAT)[leaders_before:] if "text" in m}
    assert set(texts) == {"📊 2026年12月 诉求办理通报", "📊 2026年第4季度 诉求办理测评",
                          "📊 2026年下半年 诉求办理排名", "📊 2026年度 诉求办理年终总评"}
    # The half-year ranking names the last two; the year's 总评 also asks them for a written review.
    named = {title: [x for x in lines if x.startswith("⚠️ 排名后两位")] for title, lines in texts.items()}
    assert named == {"📊 2026年12月 诉求办理通报": [], "📊 2026年第4季度 诉求办理测评": [],
                     "📊 2026年下半年 诉求办理排名": ["⚠️ 排名后两位：水务局、城市管理局"],
                     "📊 2026年度 诉求办理年终总评": ["⚠️ 排名后两位，须向领导小组写出书面检查：水务局、城市管理局"]}
    ranking = texts["📊 2026年下半年 诉求办理排名"]
    places = ranking[ranking.index(next(x for x in ranking if x.startswith("【部门排名】"))) + 1:][:3]
    assert [p.split("　")[0] for p in places] == ["1. 住房和城乡建设局", "2. 水务局", "3. 城市管理局"]

    # Once each: the next minute, and another instance, post nothing more.
    world.clock.set(sh(2027, 1, 4, 9, 6))
    assert await bulletin_job(world.app, "instance-a", world.clock()) == []
    assert await post_due(world.app, world.clock(), "instance-b") == []
    assert sorted(b.period for b in await world.rows(select(Bulletin))) == ["2026", "2026-12", "2026-H2", "2026-Q4"]
