"""Stories of one matter (issue #11): 附议 instead of new tickets, related tickets, duplicate hints
with a one-tap 合并, 高频共性 alerts once per window, /hotspots, and a 专项 gathering 一类事."""
from __future__ import annotations

from sqlalchemy import func, select

from storage.models import Campaign, CampaignTicket, HotspotAlert, RelatedTicket, Supporter, Ticket
from tests.harness import (
    CGJ_CHAT, COMMUNITY, DISPATCH_CHAT, DISPATCHER, HANDLER_A, LEADER, LEADERS_CHAT, RESIDENT, RESIDENT_2, STRANGER,
    VOLUNTEER, World,
)
from tests.steps import ZH, appeal, has_button, open_campaign, press, refused, sh, supported

RUBBISH = "幸福花园3号楼下面的垃圾桶满了好几天了，一直没人来清运，臭得不行"


async def count(world: World, model: type) -> int:
    return await world.scalar(select(func.count()).select_from(model))


def alerts_in(world: World, chat: int) -> int:
    return sum("高频共性问题" in m.get("text", "") for m in world.sb.bot_messages(chat))


async def test_agreeing_replies_support_and_make_no_ticket(world: World):
    ack = await appeal(world, RESIDENT, RUBBISH)
    card = await world.reply_from_bot(DISPATCH_CHAT, contains="城市管理局")
    # Agreement is answered with a 👍 reaction, not a message; the count shows on the ack (issue #13).
    plus = await world.send(RESIDENT_2, COMMUNITY, "+1", reply_to=ack["message_id"])
    await world.settle()
    assert world.sb.bot_reaction(COMMUNITY, plus["message_id"]) == "👍"
    assert "👥 已有 1 位邻居附议。" in world.sb.message(COMMUNITY, ack["message_id"])["text"]
    await world.send(STRANGER, COMMUNITY, "同意，我家楼下也是", reply_to=ack["message_id"])
    await world.settle()
    assert "👥 已有 2 位邻居附议。" in world.sb.message(COMMUNITY, ack["message_id"])["text"]
    sticker = await world.send(VOLUNTEER, COMMUNITY, sticker=True, reply_to=ack["message_id"])  # a 👍 sticker
    await world.settle()
    assert world.sb.bot_reaction(COMMUNITY, sticker["message_id"]) == "👍"
    assert "👥 已有 3 位邻居附议。" in world.sb.message(COMMUNITY, ack["message_id"])["text"]
    assert len(world.sb.bot_messages(COMMUNITY)) == 1
    assert await count(world, Ticket) == 1
    assert await count(world, Supporter) == 3
    # The count is on the dispatch card and in /ticket.
    assert "附议 3 人" in world.sb.message(DISPATCH_CHAT, card["message_id"])["text"]
    await world.send(DISPATCHER, DISPATCH_CHAT, "/ticket 2026-000001")
    assert "附议：3 人" in (await world.reply_from_bot(DISPATCH_CHAT, contains="附议："))["text"]

    # Bad input: a repeat by the same person, the reporter's own +1 — counted once or not at all.
    again = await world.send(RESIDENT_2, COMMUNITY, "+1 +1", reply_to=ack["message_id"])
    await world.settle()
    assert world.sb.bot_reaction(COMMUNITY, again["message_id"]) == "👍"
    assert "👥 已有 3 位邻居附议。" in world.sb.message(COMMUNITY, ack["message_id"])["text"]
    own = await world.send(RESIDENT, COMMUNITY, "+1", reply_to=ack["message_id"])
    await world.settle()
    assert world.sb.bot_reaction(COMMUNITY, own["message_id"]) == "👌"  # not reachable in private: no words
    assert len(world.sb.bot_messages(COMMUNITY)) == 1
    assert (await count(world, Ticket), await count(world, Supporter)) == (1, 3)


async def test_what_only_the_replier_needs_to_read_goes_to_them_in_private(world: World):
    # The reporter's own "+1" and a "+1" on a closed ticket: said in private to whoever started the
    # bot, with a 👌 on their reply in the group; whoever cannot be reached gets the 👌 only (the
    # acknowledgement they replied to shows the ticket's state: five "+1"s are not five messages).
    await world.send(RESIDENT, RESIDENT, "/start")
    await world.send(RESIDENT_2, RESIDENT_2, "/start")
    await world.settle()
    ack = await appeal(world, RESIDENT, RUBBISH)
    card = await world.reply_from_bot(DISPATCH_CHAT, contains="城市管理局")
    in_group = len(world.sb.bot_messages(COMMUNITY))
    own = await world.send(RESIDENT, COMMUNITY, "+1", reply_to=ack["message_id"])
    told = await world.reply_from_bot(RESIDENT, contains="您本人提出")
    assert told["text"] == ZH("support.own", code="#2026-000001")
    assert world.sb.bot_reaction(COMMUNITY, own["message_id"]) == "👌"
    await press(world, DISPATCHER, DISPATCH_CHAT, card, "驳回")
    prompt = await world.reply_from_bot(DISPATCH_CHAT, contains="理由")
    await world.send(DISPATCHER, DISPATCH_CHAT, "重复刷屏", reply_to=prompt["message_id"])
    await world.settle()
    late = await world.send(RESIDENT_2, COMMUNITY, "+1", reply_to=ack["message_id"])
    told = await world.reply_from_bot(RESIDENT_2, contains="已办结")
    assert told["text"] == ZH("support.closed", code="#2026-000001")
    assert world.sb.bot_reaction(COMMUNITY, late["message_id"]) == "👌"
    await world.settle()
    assert len(world.sb.bot_messages(COMMUNITY)) == in_group
    stranger = await world.send(STRANGER, COMMUNITY, "+1", reply_to=ack["message_id"])
    await world.settle()
    assert world.sb.bot_reaction(COMMUNITY, stranger["message_id"]) == "👌"
    assert len(world.sb.bot_messages(COMMUNITY)) == in_group
    assert await count(world, Supporter) == 0


async def test_a_reply_with_a_matter_of_its_own_is_a_related_ticket(world: World):
    ack = await appeal(world, RESIDENT, RUBBISH)
    await world.send(RESIDENT_2, COMMUNITY, "不光垃圾，楼道里还堆满了杂物，消防通道都堵了", reply_to=ack["message_id"])
    second = await world.reply_from_bot(COMMUNITY, contains="#2026-000002")
    assert "#2026-000001" in second["text"]
    assert await count(world, Ticket) == 2
    rel = await world.scalar(select(RelatedTicket))
    assert (rel.ticket_id, rel.related_to_id) == (2, 1)
    assert await count(world, Supporter) == 0


async def test_support_for_a_closed_ticket_or_a_strange_message_counts_nothing(world: World):
    ack = await appeal(world, RESIDENT, RUBBISH)
    card = await world.reply_from_bot(DISPATCH_CHAT, contains="城市管理局")
    await press(world, DISPATCHER, DISPATCH_CHAT, card, "驳回")
    prompt = await world.reply_from_bot(DISPATCH_CHAT, contains="理由")
    await world.send(DISPATCHER, DISPATCH_CHAT, "重复刷屏", reply_to=prompt["message_id"])
    await world.settle()
    late = await world.send(RESIDENT_2, COMMUNITY, "+1", reply_to=ack["message_id"])
    await world.settle()
    assert world.sb.bot_reaction(COMMUNITY, late["message_id"]) == "👌"
    # A "+1" to the bot's help text (no ticket's message) files nothing either.
    await world.send(RESIDENT_2, COMMUNITY, "/help")
    help_msg = await world.reply_from_bot(COMMUNITY, contains="/appeal")
    await world.send(RESIDENT_2, COMMUNITY, "+1", reply_to=help_msg["message_id"])
    await world.settle()
    assert (await count(world, Ticket), await count(world, Supporter)) == (1, 0)


async def test_the_second_similar_appeal_names_the_first_and_merges_in_one_tap(world: World):
    await appeal(world, RESIDENT, RUBBISH)
    await world.reply_from_bot(DISPATCH_CHAT, contains="#2026-000001")
    await appeal(world, RESIDENT_2, "3栋楼下垃圾桶都溢出来了，苍蝇到处飞")
    card = await world.reply_from_bot(DISPATCH_CHAT, contains="#2026-000002")
    assert "可能与 #2026-000001 重复" in card["text"]
    assert "垃圾桶" in card["text"]
    assert ["合并到 #2026-000001"] in world.sb.buttons(card)
    # Only dispatchers merge: anyone else gets an alert and nothing changes.
    answer = await press(world, STRANGER, DISPATCH_CHAT, card, "合并到 #2026-000001")
    refused(answer, "error.forbidden")
    assert (await world.scalar(select(Ticket).where(Ticket.id == 2))).status == "TRIAGE"
    await press(world, DISPATCHER, DISPATCH_CHAT, card, "合并到 #2026-000001")
    t2 = await world.scalar(select(Ticket).where(Ticket.id == 2))
    assert (t2.status, t2.merged_into_id) == ("MERGED", 1)
    second_ack = world.sb.bot_messages(COMMUNITY)[1]
    assert second_ack["text"].endswith("📌 进度：与 #2026-000001 为同一问题，已合并办理")


async def test_three_rubbish_appeals_in_a_day_raise_one_alert_in_each_chat(world: World):
    texts = [RUBBISH, "渔港街菜市场门口垃圾堆成山了，环卫工好几天没来", "有人半夜往河边倒建筑垃圾，堆了一大片",
             "7栋楼下的垃圾桶坏了盖子盖不上，野猫天天翻"]
    for i, text in enumerate(texts[:2]):
        await appeal(world, RESIDENT if i % 2 == 0 else RESIDENT_2, text)
    await world.settle()
    assert await count(world, HotspotAlert) == 0
    await appeal(world, STRANGER, texts[2])
    alert = await world.reply_from_bot(LEADERS_CHAT, contains="高频共性问题")
    await world.reply_from_bot(DISPATCH_CHAT, contains="高频共性问题")
    for code in ("#2026-000001", "#2026-000002", "#2026-000003"):
        assert code in alert["text"]
    assert world.sb.buttons(alert) == [["开设专项"]]
    await appeal(world, RESIDENT, texts[3])
    await world.settle()
    for chat in (LEADERS_CHAT, DISPATCH_CHAT):
        assert alerts_in(world, chat) == 1
    assert await count(world, HotspotAlert) == 1
    # /hotspots lists it, ranked.
    await world.send(DISPATCHER, DISPATCH_CHAT, "/hotspots")
    listing = await world.reply_from_bot(DISPATCH_CHAT, contains="1. 港口镇 · 市容环卫")
    assert "4 件" in listing["text"]


async def test_a_campaign_opened_from_the_alert_gathers_existing_and_new_tickets(world: World):
    for user, text in ((RESIDENT, RUBBISH), (RESIDENT_2, "渔港街菜市场门口垃圾堆成山了"),
                       (STRANGER, "河边有人倒建筑垃圾，堆了一大片")):
        await appeal(world, user, text)
    alert = await world.reply_from_bot(LEADERS_CHAT, contains="高频共性问题")
    # Only a leader may open one.
    answer = await press(world, DISPATCHER, LEADERS_CHAT, alert, "开设专项")
    refused(answer, "campaign.leaders_only")
    opened = await open_campaign(world, alert, "一个月内清理全镇垃圾点并建立日清制度 2026-12-31")
    assert "已纳入 3 件" in opened["text"] and "2026-12-31" in opened["text"]
    ask = await world.reply_from_bot(CGJ_CHAT, contains="成因排查")
    c = await world.scalar(select(Campaign))
    assert (c.area_code, c.category, c.lead_dept, c.leader_id) == ("gangkou", "市容环卫", "cgj", LEADER)
    assert await count(world, CampaignTicket) == 3
    # The next matching appeal joins; its dispatch card shows the 专项, and no alert is raised again.
    ack = await appeal(world, RESIDENT, "7栋楼下的垃圾桶坏了，垃圾撒了一地")
    card = await world.reply_from_bot(DISPATCH_CHAT, contains="#2026-000004")
    assert "📌 专项：港口镇市容环卫（截止 2026-12-31）" in card["text"].splitlines()
    assert await count(world, CampaignTicket) == 4
    assert (alerts_in(world, LEADERS_CHAT), alerts_in(world, DISPATCH_CHAT)) == (1, 1)
    # The department card says so too, with the supporters counted.
    await supported(world, RESIDENT_2, ack, "同问，什么时候能修好？")  # a neighbour agrees: 附议
    await press(world, DISPATCHER, DISPATCH_CHAT, world.sb.message(DISPATCH_CHAT, card["message_id"]), "派单")
    dept_card = await world.reply_from_bot(CGJ_CHAT, predicate=has_button("签收"))
    assert "#2026-000004" in dept_card["text"]
    assert {"👍 附议 1 人", "📌 专项：港口镇市容环卫（截止 2026-12-31）"} <= set(dept_card["text"].splitlines())
    # The department answers with its cause analysis; the leaders hear it.
    await world.send(HANDLER_A, CGJ_CHAT, "垃圾清运车辆不足，夜间无人值守，计划增加两班清运", reply_to=ask["message_id"])
    await world.reply_from_bot(LEADERS_CHAT, contains="清运车辆不足")
    # 结项: the closing report.
    await press(world, LEADER, LEADERS_CHAT, opened, "结项")
    report = await world.reply_from_bot(LEADERS_CHAT, contains="结项报告")
    assert "诉求 4 件" in report["text"] and "清运车辆不足" in report["text"]


async def test_one_cluster_alerts_once_across_the_week_boundary(world: World):
    """Three rubbish appeals on Sunday evening alert; a fourth on Monday morning is the same cluster
    (a calendar week would call it new) and alerts nobody. Eight days later, with the first three
    out of the window, three new ones are a new cluster: told again."""
    world.clock.set(sh(2026, 11, 29, 20))
    for user, text in ((RESIDENT, RUBBISH), (RESIDENT_2, "渔港街菜市场门口垃圾堆成山了"),
                       (STRANGER, "河边有人倒建筑垃圾，堆了一大片")):
        await appeal(world, user, text)
        world.clock.advance(minutes=30)
    await world.reply_from_bot(LEADERS_CHAT, contains="高频共性问题", since=0)
    world.clock.set(sh(2026, 11, 30, 8, 30))
    await appeal(world, RESIDENT, "7栋楼下的垃圾桶坏了，垃圾撒了一地")
    await world.settle()
    assert (alerts_in(world, LEADERS_CHAT), alerts_in(world, DISPATCH_CHAT)) == (1, 1)
    assert await count(world, HotspotAlert) == 1

    world.clock.set(sh(2026, 12, 8, 9))
    for user, text in ((RESIDENT, "幸福花园门口的垃圾又没人收了"), (RESIDENT_2, "菜市场垃圾桶又满了"),
                       (STRANGER, "公园里的垃圾好几天没清运")):
        await appeal(world, user, text)
    await world.settle()
    assert (alerts_in(world, LEADERS_CHAT), alerts_in(world, DISPATCH_CHAT)) == (2, 2)
    second = [m for m in world.sb.bot_messages(LEADERS_CHAT) if "高频共性问题" in m.get("text", "")][-1]
    assert "#2026-000005" in second["text"] and "#2026-000001" not in second["text"]
