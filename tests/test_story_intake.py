"""Stories: appeals in community and private chats become tickets (issue: walking skeleton)."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from storage.models import Attachment, Ticket, TicketEvent
from tests.harness import COMMUNITY, COMMUNITY_2, DISPATCH_CHAT, RESIDENT, STRANGER, VOLUNTEER, World
from tests.steps import ZH


async def tickets(world: World) -> list[Ticket]:
    return await world.rows(select(Ticket).order_by(Ticket.id))


async def test_resident_album_in_community_chat_makes_one_ticket_with_three_photos(world: World):
    # A resident posts three photos as an album, the caption addressed to the bot.
    await world.sb.user_sends_album(RESIDENT, COMMUNITY, count=3, caption="@huying_bot 小区门口垃圾三天没人清运了，臭得很")
    ack = await world.reply_from_bot(COMMUNITY, contains="#2026-")
    # The ack counts every photo of the album: held while they arrive, edited if one comes later.
    await world.settle()
    ack = world.sb.message(COMMUNITY, ack["message_id"])
    assert "已收到照片 3 张。" in ack["text"].split("\n")
    rows = await tickets(world)
    assert len(rows) == 1
    t = rows[0]
    assert t.code == "2026-000001" and t.status == "TRIAGE" and t.area_code == "gangkou"
    assert await world.scalar(select(func.count()).select_from(Attachment).where(Attachment.ticket_id == t.id)) == 3
    # The ack replies to the appeal and shows no personal data of the reporter.
    assert ack["reply_to_message"]["from"]["id"] == RESIDENT
    assert "张阿姨" not in ack["text"]


async def test_plain_chatter_gets_no_answer_and_no_ticket(world: World):
    await world.send(RESIDENT, COMMUNITY, "今天天气不错，大家早上好")
    await world.settle()
    assert await tickets(world) == []
    assert world.sb.bot_messages(COMMUNITY) == []


async def test_appeal_command_hashtag_and_empty_appeal(world: World):
    await world.send(RESIDENT, COMMUNITY, "/appeal 楼道里的灯坏了一个星期")
    await world.reply_from_bot(COMMUNITY, contains="#2026-000001")
    await world.send(RESIDENT, COMMUNITY, "#投诉 晚上十一点还有广场舞，吵得睡不着")
    await world.reply_from_bot(COMMUNITY, contains="#2026-000002")
    await world.send(RESIDENT, COMMUNITY, "/appeal")
    answer = await world.reply_from_bot(COMMUNITY, contains="/appeal")
    assert "#2026" not in answer["text"]
    rows = await tickets(world)
    assert [t.kind for t in rows][1] == "complaint"
    assert len(rows) == 2


async def test_same_update_twice_makes_one_ticket(world: World):
    msg = await world.send(RESIDENT, COMMUNITY, "/appeal 路灯不亮")
    await world.reply_from_bot(COMMUNITY, contains="#2026-000001")
    # Telegram delivers the same update again (e.g. a webhook retry).
    await world.sb.inject_update({"update_id": 999_001, "message": msg})
    await world.sb.inject_update({"update_id": 999_001, "message": msg})
    await world.settle()
    assert len(await tickets(world)) == 1


async def test_volunteer_forward_is_on_behalf_of_the_hidden_elder(world: World):
    fwd = {"type": "hidden_user", "sender_user_name": "王奶奶", "date": 1763859600}
    await world.send(VOLUNTEER, COMMUNITY, "家里水管漏水好几天了，没人来修", forward_from=fwd)
    await world.reply_from_bot(COMMUNITY, contains="#2026-000001")
    t = (await tickets(world))[0]
    assert t.reporter_id == VOLUNTEER and t.on_behalf_kind == "hidden_user" and t.on_behalf_name == "王奶奶"


async def test_forward_by_a_stranger_is_not_an_appeal(world: World):
    fwd = {"type": "hidden_user", "sender_user_name": "某人", "date": 1763859600}
    await world.send(STRANGER, COMMUNITY, "转发一条消息", forward_from=fwd)
    await world.settle()
    assert await tickets(world) == []


async def test_reply_to_ack_adds_photo_and_location(world: World):
    appeal = await world.send(RESIDENT, COMMUNITY, "/appeal 井盖丢了，很危险")
    ack = await world.reply_from_bot(COMMUNITY, contains="#2026-000001")
    photo = await world.send(RESIDENT, COMMUNITY, photo=True, caption="补一张照片", reply_to=ack["message_id"])
    await world.settle()
    # A "got it" in the group is a reaction, not a message; the ack counts the photo now.
    assert world.sb.bot_reaction(COMMUNITY, photo["message_id"]) == "👌"
    assert "已收到照片 1 张" in world.sb.message(COMMUNITY, ack["message_id"])["text"]
    pin = await world.send(RESIDENT, COMMUNITY, location=(31.2304, 121.4737), reply_to=ack["message_id"])
    await world.settle()
    assert world.sb.bot_reaction(COMMUNITY, pin["message_id"]) == "👌"
    assert len(world.sb.bot_messages(COMMUNITY)) == 1
    t = (await tickets(world))[0]
    assert t.latitude == 31.2304 and t.origin_message_id == appeal["message_id"]
    assert await world.scalar(select(func.count()).select_from(Attachment)) == 1
    kinds = [e.kind for e in await world.rows(select(TicketEvent).where(TicketEvent.ticket_id == t.id))]
    assert "location_set" in kinds and "photos_added" in kinds


async def test_private_guided_flow(world: World):
    await world.send(RESIDENT, RESIDENT, "我家楼下的下水道堵了，污水漫到路上")
    ask = await world.reply_from_bot(RESIDENT)
    assert world.sb.buttons(ask)  # skip / cancel
    await world.send(RESIDENT, RESIDENT, photo=True)
    got = await world.reply_from_bot(RESIDENT, contains="1")
    await world.sb.press(RESIDENT, RESIDENT, got["message_id"], "完成")
    loc = await world.reply_from_bot(RESIDENT, contains="位置")
    await world.sb.press(RESIDENT, RESIDENT, loc["message_id"], "跳过")
    # No place to tell the area by: the person picks it, one button per area.
    where = await world.reply_from_bot(RESIDENT, contains="区域")
    assert where["text"] == ZH("flow.ask_area")
    assert world.sb.buttons(where) == [["港口镇", "新河街道"], ["取消"]]
    await world.sb.press(RESIDENT, RESIDENT, where["message_id"], "新河街道")
    kind = await world.reply_from_bot(RESIDENT, contains="类型")
    await world.sb.press(RESIDENT, RESIDENT, kind["message_id"], "求助")
    confirm = await world.reply_from_bot(RESIDENT, contains="下水道")
    assert "区域：新河街道｜无位置" in confirm["text"]
    await world.sb.press(RESIDENT, RESIDENT, confirm["message_id"], "提交")
    await world.reply_from_bot(RESIDENT, contains="#2026-000001")
    t = (await tickets(world))[0]
    assert (t.kind, t.origin_chat_id, t.area_code) == ("help", RESIDENT, "xinhe")
    assert await world.scalar(select(func.count()).select_from(Attachment)) == 1
    card = await world.reply_from_bot(DISPATCH_CHAT, contains="#2026-000001")
    assert "区域：新河街道" in card["text"].split("\n")


# Areas with bounds (issue #13): 港口镇 a polygon, 新河街道 a box north-east of it.
BOUNDED = {"areas": [
    {"code": "gangkou", "name": "港口镇", "chats": [COMMUNITY],
     "bounds": [[22.48, 113.88], [22.48, 113.96], [22.52, 113.99], [22.53, 113.90]]},
    {"code": "xinhe", "name": "新河街道", "chats": [COMMUNITY_2], "bounds": [[22.50, 114.00], [22.53, 114.04]]},
]}


async def guided_with_location(world: World, user: int, location: tuple[float, float]) -> dict:
    """A private appeal up to the question after the shared location."""
    await world.send(user, user, "我家楼下的下水道堵了，污水漫到路上")
    photos = await world.reply_from_bot(user, contains="照片")
    await world.sb.press(user, user, photos["message_id"], "跳过")
    await world.reply_from_bot(user, contains="位置")
    await world.send(user, user, location=location)
    return await world.reply_from_bot(user, predicate=lambda m: m["message_id"] > photos["message_id"] + 1)


async def submit(world: World, user: int, question: dict) -> Ticket:
    await world.sb.press(user, user, question["message_id"], "求助")
    confirm = await world.reply_from_bot(user, contains="下水道")
    await world.sb.press(user, user, confirm["message_id"], "提交")
    await world.reply_from_bot(user, contains="#2026-000001")
    return (await tickets(world))[0]


@pytest.mark.parametrize("world", [{"org_patch": BOUNDED}], indirect=True)
async def test_a_location_inside_an_areas_bounds_gives_the_private_appeal_its_area(world: World):
    question = await guided_with_location(world, RESIDENT, (22.515, 114.02))  # inside 新河街道's box
    assert question["text"] == ZH("flow.ask_kind")  # no area question
    t = await submit(world, RESIDENT, question)
    assert (t.area_code, t.latitude) == ("xinhe", 22.515)


@pytest.mark.parametrize("world", [{"org_patch": BOUNDED}], indirect=True)
async def test_a_location_outside_every_area_is_asked_about(world: World):
    # West of 港口镇's polygon's slanted edge (inside its bounding box): not in any area.
    question = await guided_with_location(world, RESIDENT, (22.525, 113.895))
    assert question["text"] == ZH("flow.ask_area")
    await world.sb.press(RESIDENT, RESIDENT, question["message_id"], "港口镇")
    t = await submit(world, RESIDENT, await world.reply_from_bot(RESIDENT, contains="类型"))
    assert t.area_code == "gangkou"


@pytest.mark.parametrize("world", [{"org_patch": BOUNDED}], indirect=True)
async def test_a_grid_volunteer_keeps_their_own_area_wherever_the_pin_is(world: World):
    question = await guided_with_location(world, VOLUNTEER, (22.515, 114.02))  # in 新河街道
    assert question["text"] == ZH("flow.ask_kind")
    t = await submit(world, VOLUNTEER, question)
    assert t.area_code == "gangkou"  # the volunteer's grid


@pytest.mark.parametrize("world", [{"org_patch": BOUNDED}], indirect=True)
async def test_a_place_added_later_to_a_private_appeal_gives_it_its_area(world: World):
    await world.send(RESIDENT, RESIDENT, "/appeal 井盖丢了，很危险")
    ack = await world.reply_from_bot(RESIDENT, contains="#2026-000001")
    card = await world.reply_from_bot(DISPATCH_CHAT, contains="#2026-000001")
    assert ZH("card.area", area=ZH("card.no_area")) in card["text"].split("\n")
    await world.send(RESIDENT, RESIDENT, location=(22.50, 113.93), reply_to=ack["message_id"])
    await world.settle()
    t = (await tickets(world))[0]
    assert t.area_code == "gangkou"
    redrawn = world.sb.message(DISPATCH_CHAT, card["message_id"])
    assert "区域：港口镇" in redrawn["text"].split("\n")


@pytest.mark.parametrize("world", [{"ALBUM_DEBOUNCE_SECONDS": 0.0}], indirect=True)
async def test_an_album_photo_after_the_ack_went_out_edits_the_ack_to_the_true_count(world: World):
    first = await world.send(RESIDENT, COMMUNITY, photo=True, media_group_id="album-7",
                             caption="@huying_bot 小区门口垃圾三天没人清运了")
    await world.send(RESIDENT, COMMUNITY, photo=True, media_group_id="album-7")
    ack = await world.reply_from_bot(COMMUNITY, contains="#2026-000001")
    await world.settle()
    assert "2 张" in world.sb.message(COMMUNITY, ack["message_id"])["text"]
    # The third photo arrives after the ack was sent.
    await world.send(RESIDENT, COMMUNITY, photo=True, media_group_id="album-7")
    await world.settle()
    text = world.sb.message(COMMUNITY, ack["message_id"])["text"]
    assert "3 张" in text and "2 张" not in text
    assert ack["reply_to_message"]["message_id"] == first["message_id"]
    assert len([m for m in world.sb.bot_messages(COMMUNITY) if "#2026-" in (m.get("text") or "")]) == 1
