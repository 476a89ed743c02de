"""What residents and departments film or send as a file reaches the one who needs it, as it was sent:
a video appeal, a picture sent as a file (Telegram's "send uncompressed"), an album mixing photos and a
video, a video added to the acknowledgement and a department's result on video."""
from __future__ import annotations

from sqlalchemy import select

from bot.sandbox.entities import parse_entities
from storage.models import Attachment
from tests.harness import CGJ_CHAT, COMMUNITY, DISPATCH_CHAT, DISPATCHER, HANDLER_A, RESIDENT, World
from tests.steps import ZH, accept, appeal, has_button, press

RUBBISH = "小区门口垃圾三天没人清运了，异味很大"


async def _dispatch(world: World, card: dict | None = None) -> dict:
    card = card or await world.reply_from_bot(DISPATCH_CHAT, predicate=has_button("派单"))
    await press(world, DISPATCHER, DISPATCH_CHAT, card, "派单")
    return await world.reply_from_bot(CGJ_CHAT, predicate=has_button("签收"))


def _media_in(world: World, chat: int, key: str) -> list[dict]:
    return [m for m in world.sb.bot_messages(chat) if key in m]


async def test_a_filmed_appeal_reaches_the_department_as_the_video(world: World):
    sent = await world.send(RESIDENT, COMMUNITY, f"@huying_bot {RUBBISH}", video=True)
    await world.reply_from_bot(COMMUNITY, contains="#2026-000001")
    await _dispatch(world)
    kept = await world.rows(select(Attachment))
    assert [(a.kind, a.file_id, a.source) for a in kept] == [("video", sent["video"]["file_id"], "appeal")]
    videos = _media_in(world, CGJ_CHAT, "video")
    assert [v["video"]["file_unique_id"] for v in videos] == [sent["video"]["file_unique_id"]]
    assert "#2026-000001" in videos[0]["caption"]


async def test_a_picture_sent_as_a_file_reaches_the_department(world: World):
    picture = world.sb.world.new_document(b"\xff\xd8\xff\xe0sandbox-jpeg", "IMG_2041.jpg", "image/jpeg")
    caption = f"@huying_bot {RUBBISH}"
    sent = await world.send(RESIDENT, COMMUNITY, extra={"document": picture, "caption": caption,
                                                      "caption_entities": parse_entities(caption)})
    await world.reply_from_bot(COMMUNITY, contains="#2026-000001")
    await _dispatch(world)
    # The card counts one picture; the department must be able to see it, not only count it.
    files = _media_in(world, CGJ_CHAT, "document")
    assert [f["document"]["file_unique_id"] for f in files] == [sent["document"]["file_unique_id"]]


async def test_an_album_of_photos_and_a_video_reaches_the_department_as_one_album(world: World):
    album = await world.sb.user_sends_album(RESIDENT, COMMUNITY, count=3, videos=1, caption=f"@huying_bot {RUBBISH}")
    await world.reply_from_bot(COMMUNITY, contains="#2026-000001")
    await _dispatch(world)
    kinds = sorted(a.kind for a in await world.rows(select(Attachment)))
    assert kinds == ["photo", "photo", "video"]
    shown = [m for m in world.sb.bot_messages(CGJ_CHAT) if "media_group_id" in m]
    assert len({m["media_group_id"] for m in shown}) == 1
    assert sorted("video" if "video" in m else "photo" for m in shown) == ["photo", "photo", "video"]
    assert shown[-1]["video"]["file_unique_id"] == album[-1]["video"]["file_unique_id"]


async def test_a_video_added_to_the_acknowledgement_is_kept_and_follows_the_ticket(world: World):
    ack = await appeal(world, RESIDENT, RUBBISH)
    card = await world.reply_from_bot(DISPATCH_CHAT, predicate=has_button("派单"))
    sent = await world.send(RESIDENT, COMMUNITY, reply_to=ack["message_id"], video=True, caption="就是门口这一堆")
    await world.settle()
    kept = await world.rows(select(Attachment))
    assert [(a.kind, a.file_unique_id) for a in kept] == [("video", sent["video"]["file_unique_id"])]
    assert world.sb.bot_reaction(COMMUNITY, sent["message_id"]) is not None
    said = [m.get("text") or "" for m in world.sb.bot_messages(COMMUNITY)]
    assert ZH("intake.media_not_kept") not in said and not any("暂时无法转给" in s for s in said), said
    await _dispatch(world, world.sb.message(DISPATCH_CHAT, card["message_id"]))
    assert [v["video"]["file_unique_id"] for v in _media_in(world, CGJ_CHAT, "video")] == [sent["video"]["file_unique_id"]]


async def test_a_result_on_video_reaches_the_reporter_in_private(world: World):
    await world.send(RESIDENT, RESIDENT, "/start")
    await world.reply_from_bot(RESIDENT)
    await appeal(world, RESIDENT, RUBBISH)
    dept_card = await _dispatch(world)
    await accept(world, HANDLER_A, CGJ_CHAT, dept_card)
    await press(world, HANDLER_A, CGJ_CHAT, world.sb.message(CGJ_CHAT, dept_card["message_id"]), "办结")
    prompt = await world.reply_from_bot(CGJ_CHAT, contains="办理结果")
    sent = await world.send(HANDLER_A, CGJ_CHAT, "已清运完毕，门口已冲洗", reply_to=prompt["message_id"], video=True)
    await world.reply_from_bot(RESIDENT, predicate=has_button("非常满意"))
    await world.settle()
    assert [v["video"]["file_unique_id"] for v in _media_in(world, RESIDENT, "video")] == [sent["video"]["file_unique_id"]]
    assert not _media_in(world, COMMUNITY, "video")  # the department's pictures of someone's door stay private


async def test_a_voice_message_is_still_answered_as_not_passed_on(world: World):
    ack = await appeal(world, RESIDENT, RUBBISH)
    voice = {**world.sb.world.new_document(b"OggS-sandbox", None, "audio/ogg", "voice"), "duration": 2}
    await world.send(RESIDENT, COMMUNITY, reply_to=ack["message_id"], extra={"voice": voice})
    await world.settle()
    assert world.sb.bot_messages(COMMUNITY)[-1]["text"] == ZH("intake.media_not_kept")
    assert await world.rows(select(Attachment)) == []
