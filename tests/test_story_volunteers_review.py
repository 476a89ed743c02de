"""Grid volunteers (网格员) and building leaders (楼道长) filing for neighbours who cannot (review:
volunteers). DESIGN §1: they forward or retell residents' problems; the ticket records them as
reporter *on behalf of* the original person. README "What residents add": a volunteer who calls the
bot in reply to a neighbour's message files the neighbour's words and photos on the neighbour's behalf."""
from __future__ import annotations

from sqlalchemy import select

from storage.models import Ticket, TicketEvent
from tests.harness import (
    BUILDING_LEADER, CGJ_CHAT, COMMUNITY, DISPATCH_CHAT, DISPATCHER, HANDLER_A, RESIDENT_2, VOLUNTEER, World,
)
from tests.steps import ZH, has_button, press, submit_result, ticket

CODE = "#2026-000001"
ELDER_WORDS = "我家厨房水管漏水好几天了，地上全是水，没人来修"


async def tickets(world: World) -> list[Ticket]:
    return await world.rows(select(Ticket).order_by(Ticket.id))


async def passed_on(world: World, words: str = ELDER_WORDS, volunteer: int = VOLUNTEER) -> dict:
    """A neighbour writes in the group without calling the bot; the volunteer passes it on by a reply
    that calls the bot. Returns the neighbour's message."""
    elder = await world.send(RESIDENT_2, COMMUNITY, words)
    await world.settle()
    await world.send(volunteer, COMMUNITY, "@huying_bot 请帮这位居民反映一下", reply_to=elder["message_id"])
    await world.reply_from_bot(COMMUNITY, contains=CODE)
    return elder


async def test_a_neighbours_message_passed_on_by_two_volunteers_makes_one_ticket(world: World):
    """The grid volunteer and the building leader both see the elder's message and both pass it on
    (the usual case in a busy group: neither knows the other did). The bot knows exactly that it is
    the same message — `handlers/intake.py` asks `intake.is_appeal` of it, whose docstring promises
    "one passed on before" — yet files a second ticket, and the department gets the same leak twice
    (DESIGN §8: one matter, one ticket). Expected: still one ticket, no second code in the group."""
    elder = await passed_on(world)
    await world.send(BUILDING_LEADER, COMMUNITY, "@huying_bot 这个要处理一下", reply_to=elder["message_id"])
    await world.settle()
    assert [t.code for t in await tickets(world)] == ["2026-000001"]
    assert not [m for m in world.sb.bot_messages(COMMUNITY) if "#2026-000002" in (m.get("text") or "")]


async def test_a_volunteers_forward_of_their_own_message_is_their_own_appeal(world: World):
    """A grid volunteer who lives in the area forwards their own earlier message (from another chat)
    into the community chat. It is their own appeal, not someone else's: yet the ticket says it is on
    behalf of the volunteer themself, and the neighbours' group reads "（由网格员/楼道长代为反映）"
    under it, the dispatch card "代为反映：网格员/楼道长转述" — both untrue (DESIGN §1: on behalf of
    the *original person*, who here is the reporter)."""
    fwd = {"type": "user", "sender_user": world.sb.world.user_dict(VOLUNTEER)}
    await world.send(VOLUNTEER, COMMUNITY, "我家楼下的路灯坏了好几天了", forward_from=fwd)
    ack = await world.reply_from_bot(COMMUNITY, contains=CODE)
    t = await ticket(world)
    assert (t.reporter_id, t.on_behalf_kind, t.on_behalf_user_id, t.on_behalf_name) == (VOLUNTEER, None, None, None)
    assert ZH("ack.on_behalf") not in world.sb.message(COMMUNITY, ack["message_id"])["text"]


async def test_the_rating_question_passed_on_into_the_group_files_no_ticket_for_the_bot(world: World):
    """The volunteer (who started the bot) gets the rating question for 王奶奶 in private and
    forwards it into the community group so the elder's family can see it — "pass the rating question
    on". The bot files the forward of its own message as a new appeal *on behalf of the bot itself*
    (#2026-000002, reporter "呼应", words "📝 诉求 #2026-000001 已办结…"), a junk card for the
    dispatcher and a second acknowledgement in the neighbours' group. A forward whose origin is the
    bot is no neighbour's appeal."""
    await world.send(VOLUNTEER, VOLUNTEER, "/start")
    await world.settle()
    fwd = {"type": "hidden_user", "sender_user_name": "王奶奶"}
    await world.send(VOLUNTEER, COMMUNITY, "楼下垃圾好几天没人清运了，王奶奶腿脚不便", forward_from=fwd)
    await world.reply_from_bot(COMMUNITY, contains=CODE)
    card = await world.reply_from_bot(DISPATCH_CHAT, predicate=has_button("派单"))
    await press(world, DISPATCHER, DISPATCH_CHAT, card, "派单")
    dept_card = await world.reply_from_bot(CGJ_CHAT, predicate=has_button("签收"))
    await press(world, HANDLER_A, CGJ_CHAT, dept_card, "签收")
    await submit_result(world, HANDLER_A, CGJ_CHAT, dept_card, "已清运")
    question = await world.reply_from_bot(VOLUNTEER, predicate=has_button("非常满意"))
    before = len(world.sb.bot_messages(COMMUNITY))
    await world.send(VOLUNTEER, COMMUNITY, question["text"],
                     forward_from={"type": "user", "sender_user": dict(world.sb.world.bot_user)})
    await world.settle()
    assert [(t.code, t.on_behalf_user_id) for t in await tickets(world)] == [("2026-000001", None)]
    assert len(world.sb.bot_messages(COMMUNITY)) == before


async def test_a_neighbours_correction_of_the_message_passed_on_is_kept(world: World):
    """The elder notices the volunteer passed on a wrong building and edits her message (3号楼 →
    5号楼). README: "an edit of the appeal is a correction … rides on the dispatch card and on the
    department's card". The ticket's appeal *is* her words, but the bot looks the edit up by the
    volunteer's message only (`intake.record_edit` → `find_by_origin`), so the correction is
    dropped and the department goes to the wrong building."""
    elder = await passed_on(world, "3号楼厨房水管漏水好几天了，地上全是水")
    await world.sb.user_edits(RESIDENT_2, COMMUNITY, elder["message_id"], "5号楼厨房水管漏水好几天了，地上全是水")
    await world.settle()
    edits = [e.data for e in await world.rows(select(TicketEvent).where(TicketEvent.kind == "appeal_edited"))]
    assert edits == [{"text": "5号楼厨房水管漏水好几天了，地上全是水"}]
    assert len(await tickets(world)) == 1


async def test_a_volunteer_replying_to_a_linked_channel_post_files_for_nobody_else(world: World):
    """The group's linked channel (业主频道) posts a notice; Telegram forwards it in as user 777000
    "Telegram". The volunteer replies to it calling the bot with their own complaint about it. The
    bot files it as a retelling on behalf of user 777000 named "Telegram" — the shared account the
    README ("Posts under a borrowed identity … are nobody's appeal") says is nobody's. The complaint is
    the volunteer's own; nobody else is the 诉求人 (`handlers/intake.py` `retold` checks `is_bot` but
    not `sender_chat` / `is_automatic_forward`)."""
    telegram = 777000
    owners = {"id": -1002000000001, "type": "channel", "title": "幸福小区业主频道"}
    world.sb.add_user(telegram, "Telegram")
    post = await world.send(telegram, COMMUNITY, "通知：本周六小区停水检修，请大家提前储水",
                            extra={"sender_chat": owners, "is_automatic_forward": True,
                                   "forward_origin": {"type": "channel", "chat": owners, "message_id": 5, "date": 0}})
    await world.settle()
    await world.send(VOLUNTEER, COMMUNITY, "@huying_bot 停水检修没有提前三天通知，老人储水困难",
                     reply_to=post["message_id"])
    await world.reply_from_bot(COMMUNITY, contains=CODE)
    t = await ticket(world)
    assert (t.reporter_id, t.on_behalf_kind, t.on_behalf_user_id, t.on_behalf_name) == (VOLUNTEER, None, None, None)

