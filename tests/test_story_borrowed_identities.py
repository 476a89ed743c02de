"""Posts in a neighbours' group under a borrowed identity (review findings that were defects).

Telegram names one shared account as the sender of a post made as a channel (@Channel_Bot), as an
anonymous admin (@GroupAnonymousBot), or forwarded in from the group's linked channel (777000).
As a reporter such an account could never rate (a button press carries the real person's id), and
anyone posting the same way could add to the ticket. And a reporter's contact card, confirmed with
👌, was thrown away."""
from __future__ import annotations

from sqlalchemy import func, select

from storage.models import Ticket, TicketEvent
from tests.harness import CGJ_CHAT, COMMUNITY, RESIDENT, STRANGER, World
from tests.steps import ZH, appeal, dispatched

CHANNEL_BOT, ANONYMOUS, TELEGRAM = 136817688, 1087968824, 777000
OWNERS = {"id": -1002000000001, "type": "channel", "title": "幸福小区业主频道"}
OTHER = {"id": -1002000000002, "type": "channel", "title": "卖房广告频道"}


async def tickets(world: World) -> int:
    return await world.scalar(select(func.count()).select_from(Ticket))


async def test_an_appeal_posted_as_a_channel_or_an_anonymous_admin_is_asked_for_in_person(world: World):
    world.sb.add_user(CHANNEL_BOT, "Channel", username="Channel_Bot")
    world.sb.add_user(ANONYMOUS, "Group", username="GroupAnonymousBot")
    group = world.sb.world.chats[COMMUNITY].to_dict()
    for sender, as_chat in ((CHANNEL_BOT, OWNERS), (ANONYMOUS, group)):
        await world.send(sender, COMMUNITY, "@huying_bot 小区门口垃圾三天没人清运了，异味很大",
                         extra={"sender_chat": as_chat})
        said = await world.reply_from_bot(COMMUNITY, contains="个人账号")
        assert said["text"] == ZH("intake.borrowed_identity")
    assert await tickets(world) == 0


async def test_a_channel_cannot_add_to_someone_elses_ticket_and_a_linked_channel_post_is_no_appeal(world: World):
    world.sb.add_user(CHANNEL_BOT, "Channel", username="Channel_Bot")
    world.sb.add_user(TELEGRAM, "Telegram")
    ack = await appeal(world, RESIDENT, "小区门口垃圾三天没人清运了，异味很大")
    before = len(world.sb.bot_messages(COMMUNITY))
    other = await world.send(CHANNEL_BOT, COMMUNITY, "这个问题是假的，不用管了", reply_to=ack["message_id"],
                             extra={"sender_chat": OTHER})
    await world.send(TELEGRAM, COMMUNITY, "#投诉 专项整治：本周起集中清理小区垃圾，欢迎大家监督",
                     extra={"sender_chat": OTHER, "is_automatic_forward": True,
                            "forward_origin": {"type": "channel", "chat": OTHER, "message_id": 5, "date": 0}})
    await world.settle()
    assert await world.rows(select(TicketEvent).where(TicketEvent.kind == "reporter_note")) == []
    assert world.sb.bot_reaction(COMMUNITY, other["message_id"]) is None
    assert await tickets(world) == 1 and len(world.sb.bot_messages(COMMUNITY)) == before


async def test_a_contact_card_replied_to_the_acknowledgement_reaches_the_department(world: World):
    dept_card = await dispatched(world, "小区门口垃圾三天没人清运了，异味很大")
    ack = world.sb.bot_messages(COMMUNITY)[0]
    sent = await world.send(RESIDENT, COMMUNITY, None, reply_to=ack["message_id"],
                            extra={"contact": {"phone_number": "+8613812345678", "first_name": "张桂英",
                                               "user_id": RESIDENT}})
    note = await world.reply_from_bot(CGJ_CHAT, contains="13812345678")
    assert "📇 张桂英 +8613812345678" in note["text"] and dept_card["message_id"] != note["message_id"]
    assert world.sb.bot_reaction(COMMUNITY, sent["message_id"]) == "👌"
    [event] = await world.rows(select(TicketEvent).where(TicketEvent.kind == "reporter_note"))
    assert "+8613812345678" in str(event.data)


async def test_a_bare_report_in_the_neighbours_group_is_left_to_the_groups_moderation_bot(world: World):
    # A reply to spam with /report summons a group's moderators' bot (seen in real groups); Huying
    # answered it in the group with a staff-only refusal. Addressed to us, it answers.
    spam = await world.send(STRANGER, COMMUNITY, "高价回收旧手机，加微信 xx123")
    await world.send(RESIDENT, COMMUNITY, "/report", reply_to=spam["message_id"])
    await world.send(RESIDENT, COMMUNITY, "/report@huying_bot")
    said = await world.reply_from_bot(COMMUNITY, contains="/report")
    assert said["text"] == ZH("report.not_here")
    assert len(world.sb.bot_messages(COMMUNITY)) == 1
