"""Unusual but real Telegram messages through the real bot (review "oddities"): what a resident,
volunteer or handler sends must not be lost, and the neighbours' group must not be spammed.

Each test states the behaviour a person in DESIGN §1 would expect."""
from __future__ import annotations

from sqlalchemy import func, select

from storage.models import Attachment, Ticket, TicketEvent
from tests.harness import CGJ_CHAT, COMMUNITY, HANDLER_A, RESIDENT, RESIDENT_2, VOLUNTEER, World
from tests.steps import ZH, accept, dispatched, press

VIDEO = {"file_id": "video-1", "file_unique_id": "vid-1", "width": 640, "height": 360, "duration": 9}
NEW_GROUP = -1005555555555


async def tickets(world: World) -> int:
    return await world.scalar(select(func.count()).select_from(Ticket))


def bot_texts(world: World, chat: int) -> list[str]:
    return [m.get("text") or m.get("caption") or "" for m in world.sb.bot_messages(chat)]


async def test_a_captioned_video_appeal_keeps_the_video(world: World):
    """A resident films the flooding drain and captions it "@huying_bot 下水道冒水，看视频": the ticket is
    filed from the caption and the video, the evidence, is kept with it for the department."""
    await world.send(RESIDENT, COMMUNITY, extra={
        "video": VIDEO, "caption": "@huying_bot 下水道冒水，看视频",
        "caption_entities": [{"type": "mention", "offset": 0, "length": 11}]})
    await world.reply_from_bot(COMMUNITY, contains="#2026-000001")
    await world.settle()
    assert await tickets(world) == 1
    assert [(a.kind, a.file_id) for a in await world.rows(select(Attachment))] == [("video", "video-1")]


async def test_a_video_inside_an_appeals_album_is_kept_with_the_photos(world: World):
    """An album of photo + video + photo with "@huying_bot 楼道堆满杂物" on the first: all three are
    the appeal's, and the acknowledgement counts three."""
    group = "album-mixed"
    await world.send(RESIDENT, COMMUNITY, photo=True, caption="@huying_bot 楼道堆满杂物，消防通道被堵", media_group_id=group)
    await world.send(RESIDENT, COMMUNITY, extra={"video": VIDEO, "media_group_id": group})
    await world.send(RESIDENT, COMMUNITY, photo=True, media_group_id=group)
    ack = await world.reply_from_bot(COMMUNITY, contains="#2026-000001")
    await world.settle()
    assert ZH("ack.photos", count=3) in world.sb.message(COMMUNITY, ack["message_id"])["text"]
    assert sorted(a.kind for a in await world.rows(select(Attachment))) == ["photo", "photo", "video"]


async def test_an_appeal_edited_to_call_the_bot_is_filed(world: World):
    """People forget the mention and add it by editing the message (Telegram's way to fix a
    message, and the bot receives edited_message). The edit that now says "@huying_bot …" is
    dropped: handlers/intake.py `edited` only records edits of messages that are already tickets
    (bot/services/intake.py `record_edit`), so the resident waits for an answer that never comes.
    An edit that newly calls the bot on a message that made no ticket should file it — once."""
    msg = await world.send(RESIDENT, COMMUNITY, "小区门口垃圾三天没人清运了，异味很大")
    await world.settle()
    await world.sb.user_edits(RESIDENT, COMMUNITY, msg["message_id"], "@huying_bot 小区门口垃圾三天没人清运了，异味很大")
    await world.settle()
    rows = await world.rows(select(Ticket))
    assert [(t.text, t.origin_message_id) for t in rows] == [("小区门口垃圾三天没人清运了，异味很大", msg["message_id"])]
    assert any("#2026-000001" in t for t in bot_texts(world, COMMUNITY)), bot_texts(world, COMMUNITY)


async def test_a_result_corrected_by_editing_the_reply_is_not_lost(world: World):
    """A handler answers the 办结 prompt "已清运，3号楼", sees the wrong building and edits the reply
    to "已清运，5号楼门口，并加装垃圾桶". The edit is silently ignored (record_edit only knows appeals):
    the ticket's record (台账), the resident's rating question and the reports keep the wrong result,
    and the handler is not told the correction did not take. The correction must at least be kept
    in the ticket's history (the same rule as an appeal corrected by edit, README "What residents add")."""
    card = await dispatched(world, "小区门口垃圾三天没人清运了，异味很大")
    await accept(world, HANDLER_A, CGJ_CHAT, card)
    await press(world, HANDLER_A, CGJ_CHAT, world.sb.message(CGJ_CHAT, card["message_id"]), "办结")
    prompt = await world.reply_from_bot(CGJ_CHAT, contains="办理结果")
    result = await world.send(HANDLER_A, CGJ_CHAT, "已清运，3号楼", reply_to=prompt["message_id"])
    await world.settle()
    await world.sb.user_edits(HANDLER_A, CGJ_CHAT, result["message_id"], "已清运，5号楼门口，并加装垃圾桶")
    await world.settle()
    events = await world.rows(select(TicketEvent).where(TicketEvent.ticket_id == 1))
    corrected = [e.kind for e in events if "5号楼门口，并加装垃圾桶" in str(e.data or "")]
    assert corrected, [(e.kind, e.data) for e in events]


async def test_hashtag_chatter_in_an_unbound_group_is_not_answered_every_time(world: World):
    """The bot has been added to a new group that no admin has bound yet (README "Going live" 5–6).
    Neighbours there write "#求助 …" to each other, not to the bot; each such message gets
    "本群尚未接入…请联系管理员用 /bind 绑定" — three messages, three identical answers, and more with
    every hashtag. The neighbours' group must not be spammed (review brief; README "What the
    neighbours' group sees"): a group that is not set up hears that at most once for chatter."""
    world.sb.add_chat(NEW_GROUP, type="supergroup", title="新小区群")
    for n in range(3):
        await world.send(RESIDENT, NEW_GROUP, f"#求助 小区门口垃圾{n + 2}天没人清运了")
        await world.settle()
    said = bot_texts(world, NEW_GROUP)
    assert said.count(ZH("intake.chat_not_bound")) <= 1, said
    assert await tickets(world) == 0


async def test_a_volunteers_forward_of_one_neighbours_words_photo_and_pin_is_one_ticket(world: World):
    """A grid volunteer selects a neighbour's three messages — the words, a photo, a location pin —
    and forwards them into the community chat (Telegram sends three messages, no media group). The
    bot files three tickets: a photo-only #2026-000002 and a pin-only #2026-000003 beside the real
    one, three acks in the neighbours' group and three cards for the dispatcher — and the photo and
    the place never reach the department working #2026-000001. A bare pin from a resident right after
    their appeal joins it (bot/services/intake.py `locate_recent`); a forwarded one from the same
    person should too, and so should the photo."""
    origin = {"type": "user", "sender_user": {"id": RESIDENT_2, "is_bot": False, "first_name": "刘先生"}}
    await world.send(VOLUNTEER, COMMUNITY, "5号楼楼道灯坏了一个星期了，晚上看不见路", forward_from=origin)
    await world.send(VOLUNTEER, COMMUNITY, photo=True, forward_from=origin)
    await world.send(VOLUNTEER, COMMUNITY, location=(22.5, 114.0), forward_from=origin)
    await world.settle()
    rows = await world.rows(select(Ticket))
    assert [(t.text, t.latitude) for t in rows] == [("5号楼楼道灯坏了一个星期了，晚上看不见路", 22.5)]
    assert await world.scalar(select(func.count()).select_from(Attachment)) == 1
    assert len(world.sb.bot_messages(COMMUNITY)) == 1, bot_texts(world, COMMUNITY)


async def test_a_place_added_after_the_card_reaches_the_department(world: World):
    """The department has accepted; the resident replies to the ack with a location pin (where the
    pile is). The handler's chat is told "📎 #2026-000001 诉求人补充：📷 （并补充了位置）" — a photo that
    was never sent, and a place it is never shown: no location message, and the card is not
    redrawn with the 位置 line it carries when the place is known at dispatch
    (bot/services/department_cards.py). The handler going out has nothing to go on."""
    card = await dispatched(world, "小区门口垃圾三天没人清运了，异味很大")
    await accept(world, HANDLER_A, CGJ_CHAT, card)
    ack = world.sb.bot_messages(COMMUNITY)[0]
    await world.send(RESIDENT, COMMUNITY, reply_to=ack["message_id"], location=(22.51234, 114.05678))
    await world.settle()
    dept = [world.sb.message(CGJ_CHAT, m["message_id"]) for m in world.sb.bot_messages(CGJ_CHAT)]
    pins = [m["location"]["latitude"] for m in dept if "location" in m]
    shown = [m.get("text") or "" for m in dept if "22.51234" in (m.get("text") or "")]
    assert pins == [22.51234] or shown, [m.get("text") for m in dept]
    assert not any("📷" in (m.get("text") or "") for m in dept), [m.get("text") for m in dept]
