"""One matter, one ticket, as an outside review used it (tests of findings that were defects):
a merged duplicate is a voice on the ticket it joined, not a second matter; a 专项's closing
report counts the appeals it can solve; 结项 by someone else is refused in words about 结项."""
from __future__ import annotations

from sqlalchemy import func, select

from storage.models import Supporter, Ticket, TicketEvent
from tests.harness import ADMIN, CGJ_CHAT, COMMUNITY, DISPATCH_CHAT, DISPATCHER, LEADER, LEADERS_CHAT, RESIDENT, RESIDENT_2, STRANGER, World
from tests.steps import ZH, appeal, has_button, open_campaign, press, refused, through_resolution

RUBBISH = "幸福花园3号楼下面的垃圾桶满了好几天了，一直没人来清运，臭得不行"
DUPLICATE = "幸福花园3号楼楼下垃圾桶满了，好几天没人清运"
THREE = ((RESIDENT, RUBBISH), (RESIDENT_2, "渔港街菜市场门口垃圾堆成山了"), (STRANGER, "河边有人倒建筑垃圾，堆了一大片"))


async def card_of(world: World, code: str) -> dict:
    return await world.reply_from_bot(DISPATCH_CHAT, contains=code, predicate=has_button("派单"))


def hotspot_alerts(world: World) -> list[str]:
    return [m["text"] for m in world.sb.bot_messages(LEADERS_CHAT) if "高频共性" in m.get("text", "")]


async def test_a_merged_duplicate_is_support_not_a_second_matter_of_a_hotspot(world: World):
    await appeal(world, RESIDENT, RUBBISH)
    await card_of(world, "#2026-000001")
    await appeal(world, RESIDENT_2, DUPLICATE)
    await press(world, DISPATCHER, DISPATCH_CHAT, await card_of(world, "#2026-000002"), "合并到 #2026-000001")
    assert (await world.scalar(select(Ticket).where(Ticket.id == 2))).status == "MERGED"
    # A second matter in the area: two matters and one duplicate, the threshold is three.
    await appeal(world, STRANGER, "渔港街菜市场门口垃圾堆成山了，环卫工好几天没来")
    await world.settle()
    assert hotspot_alerts(world) == []
    await world.send(DISPATCHER, DISPATCH_CHAT, "/hotspots")
    await world.reply_from_bot(DISPATCH_CHAT, contains="以来没有高频共性问题")
    # A third matter makes it hot; the duplicate is not listed as a problem of its own.
    await appeal(world, RESIDENT, "河边有人倒建筑垃圾，堆了一大片")
    await world.settle()
    [alert] = hotspot_alerts(world)
    assert "#2026-000002" not in alert and "#2026-000001" in alert and "#2026-000004" in alert
    assert "3 件诉求，附议 1 人" in alert
    await world.send(DISPATCHER, DISPATCH_CHAT, "/hotspots")
    listing = await world.reply_from_bot(DISPATCH_CHAT, contains="高频共性问题（")
    assert "3 件，附议 1 人" in listing["text"]


async def test_a_campaigns_closing_report_leaves_out_duplicates_merged_into_its_tickets(world: World):
    for user, text in THREE:
        await appeal(world, user, text)
    alert = await world.reply_from_bot(LEADERS_CHAT, contains="高频共性问题")
    opened = await open_campaign(world, alert, "一个月内清理全镇垃圾点 2026-12-31")
    await appeal(world, RESIDENT_2, DUPLICATE)  # joins the 专项 as it is filed
    await press(world, DISPATCHER, DISPATCH_CHAT, await card_of(world, "#2026-000004"), "合并到 #2026-000001")
    # Someone who is not a leader presses 结项: refused in words about 结项, not about opening one.
    answer = await press(world, DISPATCHER, LEADERS_CHAT, opened, "结项")
    refused(answer, "campaign.close_leaders_only")
    assert answer["text"] == "只有领导可以为专项结项。"
    await press(world, LEADER, LEADERS_CHAT, opened, "结项")
    report = await world.reply_from_bot(LEADERS_CHAT, contains="结项报告")
    assert "诉求 3 件" in report["text"]


async def test_nothing_is_merged_into_a_ticket_whose_result_was_already_given(world: World):
    # Its reporter would be told "news will follow #1", and #1's result had gone out already.
    await through_resolution(world, RUBBISH)  # #1 resolved, awaiting its rating
    await world.settle()
    assert (await world.scalar(select(Ticket).where(Ticket.id == 1))).status == "RESOLVED"
    await appeal(world, RESIDENT_2, DUPLICATE)
    card = await card_of(world, "#2026-000002")
    assert "#2026-000001" in card["text"] and "已办结" in card["text"]  # named, as a closed one is
    assert not any("合并到" in label for row in world.sb.buttons(card) for label in row)
    await press(world, DISPATCHER, DISPATCH_CHAT, card, "合并")
    prompt = await world.reply_from_bot(DISPATCH_CHAT, contains="要并入的工单编号")
    await world.send(DISPATCHER, DISPATCH_CHAT, "#2026-000001", reply_to=prompt["message_id"])
    refusal = await world.reply_from_bot(DISPATCH_CHAT, contains="已办结，不能合并进去")
    assert refusal["text"] == ZH("merge.result_given", code="#2026-000001")
    assert (await world.scalar(select(Ticket).where(Ticket.id == 2))).status == "TRIAGE"


async def test_a_merged_reporter_adds_to_the_matter_by_replying_to_their_own_acknowledgement(world: World):
    # Before: their photo filed a brand-new ticket, and their "+1" made them a 附议 of the survivor
    # though their voice already counted by the merge.
    await appeal(world, RESIDENT, RUBBISH)
    await card_of(world, "#2026-000001")
    ack = await appeal(world, RESIDENT_2, DUPLICATE)
    await press(world, DISPATCHER, DISPATCH_CHAT, await card_of(world, "#2026-000002"), "合并到 #2026-000001")
    await world.send(RESIDENT_2, COMMUNITY, "补充一张照片", photo=True, reply_to=ack["message_id"])
    await world.settle()
    await world.send(RESIDENT_2, COMMUNITY, "+1", reply_to=ack["message_id"])
    await world.settle()
    assert await world.scalar(select(func.count()).select_from(Ticket)) == 2
    assert await world.rows(select(Supporter)) == []
    kinds = [e.kind for e in await world.rows(select(TicketEvent).where(TicketEvent.ticket_id == 1))]
    assert "photos_added" in kinds and "reporter_note" in kinds


async def test_the_photos_of_a_merged_appeal_reach_the_department(world: World):
    await appeal(world, RESIDENT, RUBBISH)  # words only
    first = await card_of(world, "#2026-000001")
    await world.send(RESIDENT_2, COMMUNITY, f"@huying_bot {DUPLICATE}", photo=True)
    await press(world, DISPATCHER, DISPATCH_CHAT, await card_of(world, "#2026-000002"), "合并到 #2026-000001")
    await press(world, DISPATCHER, DISPATCH_CHAT, world.sb.message(DISPATCH_CHAT, first["message_id"]), "派单")
    await world.reply_from_bot(CGJ_CHAT, predicate=has_button("签收"))
    await world.settle()
    [photo] = [m for m in world.sb.bot_messages(CGJ_CHAT) if m.get("photo")]
    card = next(m for m in world.sb.bot_messages(CGJ_CHAT) if "签收" in str(world.sb.buttons(m)))
    assert "\n照片：1 张\n" in card["text"]
    # Merged while the department works it: they get the photos at once, saying where from.
    await world.send(STRANGER, COMMUNITY, f"@huying_bot {DUPLICATE}，你看这照片", photo=True)
    third = await card_of(world, "#2026-000003")
    await press(world, DISPATCHER, DISPATCH_CHAT, third, "合并")
    prompt = await world.reply_from_bot(DISPATCH_CHAT, contains="要并入的工单编号")
    await world.send(DISPATCHER, DISPATCH_CHAT, "#2026-000001", reply_to=prompt["message_id"])
    note = await world.reply_from_bot(CGJ_CHAT, contains="并入的 #2026-000003")
    assert note.get("photo") and note["caption"] == ZH("dept.merged_photos", code="#2026-000001",
                                                        merged="#2026-000003", count=1)


async def test_an_english_dispatch_card_names_only_words_the_appeal_wrote(world: World):
    # The glossary matches English appeals through Chinese words; the card said "similar words:
    # collect、垃圾桶、垃圾" of two appeals that wrote none of them.
    for chat in (COMMUNITY, DISPATCH_CHAT):
        await world.send(ADMIN, chat, "/lang en")
    await world.settle()
    await appeal(world, RESIDENT, "Rubbish bins at building 3 overflowing for days, garbage not collected")
    await world.reply_from_bot(DISPATCH_CHAT, contains="#2026-000001", predicate=has_button("Dispatch"))
    await appeal(world, STRANGER, "Garbage bins at building 3 overflowing, rubbish not collected for days")
    card = await world.reply_from_bot(DISPATCH_CHAT, contains="#2026-000002", predicate=has_button("Dispatch"))
    [line] = [x for x in card["text"].splitlines() if "#2026-000001" in x]
    assert "；" not in line and "、" not in line and not any("\u4e00" <= ch <= "\u9fff" for ch in line), line
    assert "same building 3; " in line, line
