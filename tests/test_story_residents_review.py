"""Residents, grid volunteers and building leaders using the bot as they would (a review from outside)."""
from __future__ import annotations

from sqlalchemy import select

from storage.models import Attachment, Ticket, TicketEvent
from tests.harness import (
    CGJ_CHAT, COMMUNITY, DISPATCH_CHAT, DISPATCHER, HANDLER_A, RESIDENT, RESIDENT_2, STRANGER, VOLUNTEER, World,
)
from tests.steps import ZH, appeal, has_button, press, showing, supported, ticket

RESULT = "已电话联系13812345678，3号楼2单元502室门口垃圾已清运"


async def test_a_neighbour_who_agreed_does_not_get_the_reporters_phone_and_flat_in_the_result(world: World):
    # A neighbour who started the bot says "+1" under someone else's appeal.
    await world.send(RESIDENT_2, RESIDENT_2, "/start")
    await world.reply_from_bot(RESIDENT_2)
    ack = await appeal(world, RESIDENT, "小区门口垃圾三天没人清运了，异味很大")
    card = await world.reply_from_bot(DISPATCH_CHAT, predicate=has_button("派单"))
    await supported(world, RESIDENT_2, ack)
    card = world.sb.message(DISPATCH_CHAT, card["message_id"])
    await press(world, DISPATCHER, DISPATCH_CHAT, card, "派单")
    dept_card = await world.reply_from_bot(CGJ_CHAT, predicate=has_button("签收"))
    await press(world, HANDLER_A, CGJ_CHAT, dept_card, "签收")
    await press(world, HANDLER_A, CGJ_CHAT, world.sb.message(CGJ_CHAT, dept_card["message_id"]), "办结")
    prompt = await world.reply_from_bot(CGJ_CHAT, contains="办理结果")
    await world.send(HANDLER_A, CGJ_CHAT, RESULT, reply_to=prompt["message_id"])
    told = await world.reply_from_bot(RESIDENT_2, contains="已办结")
    # The neighbour is not the reporter: the result reaches them as the public sees it (DESIGN §1
    # "the neighbours' chat"; README: the department's words are the reporter's, in private).
    assert "13812345678" not in told["text"] and "502" not in told["text"], told["text"]


async def test_words_added_before_dispatch_reach_the_department(world: World):
    # Right after filing, the resident adds where exactly, as the acknowledgement invites.
    ack = await appeal(world, RESIDENT, "小区门口垃圾三天没人清运了，异味很大")
    card = await world.reply_from_bot(DISPATCH_CHAT, predicate=has_button("派单"))
    more = await world.send(RESIDENT, COMMUNITY, "补充：具体在北门东侧的绿色垃圾桶旁边", reply_to=ack["message_id"])
    await world.settle()
    assert world.sb.bot_reaction(COMMUNITY, more["message_id"]) == "👌"  # "已补充"
    await press(world, DISPATCHER, DISPATCH_CHAT, world.sb.message(DISPATCH_CHAT, card["message_id"]), "派单")
    await world.reply_from_bot(CGJ_CHAT, predicate=has_button("签收"))
    await world.settle()
    said_to_dept = [m.get("text") or m.get("caption") or "" for m in world.sb.bot_messages(CGJ_CHAT)]
    said_to_dispatch = [world.sb.message(DISPATCH_CHAT, m["message_id"]).get("text") or ""
                        for m in world.sb.bot_messages(DISPATCH_CHAT)]
    # The handler going out must know where: the supplement is on the card or in a note to them.
    assert any("北门东侧" in t for t in said_to_dept + said_to_dispatch), (said_to_dept, said_to_dispatch)


async def test_an_appeal_corrected_by_editing_reaches_the_department(world: World):
    msg = await world.send(RESIDENT, COMMUNITY, "@huying_bot 3号楼门口垃圾三天没人清运了，异味很大")
    await world.reply_from_bot(COMMUNITY, contains="#2026-000001")
    card = await world.reply_from_bot(DISPATCH_CHAT, predicate=has_button("派单"))
    # The resident notices the wrong building and fixes it the Telegram way: by editing.
    await world.sb.user_edits(RESIDENT, COMMUNITY, msg["message_id"], "@huying_bot 5号楼门口垃圾三天没人清运了，异味很大")
    await world.settle()
    await press(world, DISPATCHER, DISPATCH_CHAT, world.sb.message(DISPATCH_CHAT, card["message_id"]), "派单")
    await world.reply_from_bot(CGJ_CHAT, predicate=has_button("签收"))
    await world.settle()
    said_to_dept = [m.get("text") or m.get("caption") or "" for m in world.sb.bot_messages(CGJ_CHAT)]
    assert any("5号楼" in t for t in said_to_dept), said_to_dept


async def test_the_reporter_saying_it_is_back_on_a_closed_tickets_ack_is_not_just_noted(world: World):
    from tests.steps import through_resolution

    await through_resolution(world, "小区门口垃圾三天没人清运了，异味很大")
    q = await showing(world, COMMUNITY, "非常满意")
    await press(world, RESIDENT, COMMUNITY, q, "非常满意")
    assert (await ticket(world)).status == "CLOSED"
    ack = world.sb.bot_messages(COMMUNITY)[0]
    before = {c: len(world.sb.bot_messages(c)) for c in (CGJ_CHAT, DISPATCH_CHAT, COMMUNITY)}
    # A week later the rubbish is back; the reporter says so under their acknowledgement.
    back = await world.send(RESIDENT, COMMUNITY, "垃圾又堆起来了，还是没人管，臭得不行", reply_to=ack["message_id"])
    await world.settle()
    new_tickets = len(await world.rows(select(Ticket))) - 1
    reached_staff = any(len(world.sb.bot_messages(c)) > before[c] for c in (CGJ_CHAT, DISPATCH_CHAT))
    told = world.sb.bot_messages(COMMUNITY)[before[COMMUNITY]:]
    # "已补充" (👌) on a closed ticket reaches nobody: either it becomes a (related) appeal, or the
    # reporter is told the ticket is closed and to file a new one — as a neighbour's "+1" is.
    assert new_tickets == 1, (new_tickets, reached_staff, told)  # "it is back": a new appeal, related to the old one
    assert new_tickets or reached_staff or told, (world.sb.bot_reaction(COMMUNITY, back["message_id"]),
                                                  await world.rows(select(TicketEvent.kind)))


async def test_a_pdf_with_only_a_mention_is_not_filed_as_an_empty_ticket(world: World):
    await world.send(RESIDENT, COMMUNITY, document=True, caption="@huying_bot")
    await world.settle()
    rows = await world.rows(select(Ticket))
    # Nothing to go on (no words, no picture kept): the same answer as an empty /appeal.
    assert [(t.text, t.status) for t in rows] == [], [(t.text, t.status) for t in rows]
    assert world.sb.bot_messages(COMMUNITY)[-1]["text"] == ZH("intake.empty")


async def test_a_thumbs_up_with_a_skin_tone_is_not_an_appeal(world: World):
    await world.send(RESIDENT, COMMUNITY, "@huying_bot 👍")
    await world.send(RESIDENT_2, COMMUNITY, "@huying_bot 👍🏻")
    await world.settle()
    rows = await world.rows(select(Ticket))
    assert [t.text for t in rows] == [], [t.text for t in rows]


async def test_an_english_speaker_in_private_gets_the_acknowledgement_in_english_too(world: World):
    from bot.i18n import Translator

    en = Translator("en")
    world.sb.add_user(RESIDENT, "Anna", language_code="en")
    await world.send(RESIDENT, RESIDENT, "/start")
    hello = await world.reply_from_bot(RESIDENT)
    assert hello["text"].startswith(en("help.start"))  # the private chat speaks the person's language
    await world.send(RESIDENT, RESIDENT, "/appeal garbage has not been collected near gate 3 for three days")
    ack = await world.reply_from_bot(RESIDENT, contains="#2026-000001")
    # ...but the acknowledgement (and every later note and the rating question, all rendered with the
    # stored person's locale) come in Chinese: DESIGN §5 "per user in private".
    assert ack["text"].startswith(en("ack.created", code="#2026-000001")), ack["text"]


async def test_the_reporter_of_a_merged_duplicate_does_not_get_the_first_reporters_phone(world: World):
    await world.send(RESIDENT_2, RESIDENT_2, "/start")
    await world.reply_from_bot(RESIDENT_2)
    await appeal(world, RESIDENT, "幸福花园3号楼下面的垃圾桶满了好几天了，一直没人来清运，臭得不行")
    card = await world.reply_from_bot(DISPATCH_CHAT, contains="#2026-000001")
    await appeal(world, RESIDENT_2, "幸福花园3号楼楼下垃圾桶满了，好几天没人清运")
    dup = await world.reply_from_bot(DISPATCH_CHAT, contains="#2026-000002")
    await press(world, DISPATCHER, DISPATCH_CHAT, dup, "合并到 #2026-000001")
    await press(world, DISPATCHER, DISPATCH_CHAT, world.sb.message(DISPATCH_CHAT, card["message_id"]), "派单")
    dept_card = await world.reply_from_bot(CGJ_CHAT, predicate=has_button("签收"))
    await press(world, HANDLER_A, CGJ_CHAT, dept_card, "签收")
    # The handler notes whom they called — the first reporter, by phone and door.
    await world.send(HANDLER_A, CGJ_CHAT, "已电话联系13812345678，3号楼2单元502室门口明天上午清运",
                     reply_to=dept_card["message_id"])
    told = await world.reply_from_bot(RESIDENT_2, contains="明天上午清运")
    assert "13812345678" not in told["text"] and "502" not in told["text"], told["text"]


async def test_neighbours_remarks_under_an_ack_are_not_new_appeals(world: World):
    ack = await appeal(world, RESIDENT, "小区门口垃圾三天没人清运了，异味很大")
    n0 = len(world.sb.bot_messages(COMMUNITY))
    # None of these is a matter of its own: news that it is fixed, a grumble, a question about it.
    for who, words in ((RESIDENT_2, "已经解决了"), (STRANGER, "物业根本不管"), (RESIDENT_2, "what is the status?")):
        await world.send(who, COMMUNITY, words, reply_to=ack["message_id"])
        await world.settle()
    rows = await world.rows(select(Ticket).order_by(Ticket.id))
    assert [t.text for t in rows[1:]] == [], [t.text for t in rows[1:]]
    assert len(world.sb.bot_messages(COMMUNITY)) == n0  # and no new acknowledgements in the neighbours' group


async def test_typing_the_rating_word_in_private_does_not_start_a_new_appeal(world: World):
    from tests.steps import through_resolution

    await world.send(RESIDENT, RESIDENT, "/start")
    await world.reply_from_bot(RESIDENT)
    await through_resolution(world, "小区门口垃圾三天没人清运了，异味很大")
    await world.reply_from_bot(RESIDENT, predicate=has_button("非常满意"))
    n0 = len(world.sb.bot_messages(RESIDENT))
    # An elderly resident types the answer instead of pressing the button.
    await world.send(RESIDENT, RESIDENT, "非常满意")
    await world.settle()
    answers = [m["text"] for m in world.sb.bot_messages(RESIDENT)[n0:]]
    # The bot is waiting for this person's rating: "有现场照片吗？" (a new guided appeal "非常满意") is wrong.
    assert ZH("flow.ask_photos") not in answers, answers
    assert answers == [ZH("rate.typed", code="#2026-000001")], answers


async def test_a_volunteer_mentioning_the_bot_under_a_residents_message_files_the_residents_words(world: World):
    # An elderly resident writes in the group without knowing how to call the bot...
    elder = await world.send(RESIDENT_2, COMMUNITY, "我家厨房水管漏水好几天了，地上全是水，没人来修")
    await world.settle()
    assert await world.rows(select(Ticket)) == []
    # ...and the grid volunteer passes it on the way a group does it: a reply that calls the bot.
    await world.send(VOLUNTEER, COMMUNITY, "@huying_bot 请帮这位居民反映一下", reply_to=elder["message_id"])
    await world.reply_from_bot(COMMUNITY, contains="#2026-000001")
    t = await ticket(world)
    # The department needs the resident's words, and the ticket is on behalf of the resident (DESIGN §1).
    assert "水管漏水" in t.text, t.text
    assert t.on_behalf_user_id == RESIDENT_2, (t.reporter_id, t.on_behalf_user_id)


async def test_flat_numbers_written_the_everyday_ways_are_masked_in_the_group(world: World):
    from tests.steps import through_resolution

    await through_resolution(world, "楼道里的垃圾三天没人清运了，异味很大",
                             result="已到3号楼二单元502、5号楼2门301和12栋一单元1202上门清运")
    question = await showing(world, COMMUNITY, "非常满意")
    # README (scrub): "a flat number such as 3号楼2单元502室 → 3号楼2单元***室"; a Chinese-numeral
    # 单元 and Beijing's 门 are the same doors.
    for door in ("502", "301", "1202"):
        assert door not in question["text"], question["text"]


async def test_a_video_added_to_the_ack_is_not_silently_dropped(world: World):
    ack = await appeal(world, RESIDENT, "小区门口垃圾三天没人清运了，异味很大")
    video = {"video": {"file_id": "video-1", "file_unique_id": "vid-1", "width": 640, "height": 360, "duration": 9}}
    sent = await world.send(RESIDENT, COMMUNITY, reply_to=ack["message_id"], extra=video)
    await world.settle()
    kept = await world.rows(select(Attachment))
    events = [e.kind for e in await world.rows(select(TicketEvent))]
    reaction = world.sb.bot_reaction(COMMUNITY, sent["message_id"])
    # The ack invites "回复本消息可补充照片、位置或说明": a video of the pile is kept for the department,
    # or the resident is at least told it was not taken — not nothing at all.
    assert kept or "reporter_note" in events or reaction is not None or len(world.sb.bot_messages(COMMUNITY)) > 1, (
        kept, events, reaction)
    assert [(a.kind, a.file_id) for a in kept] == [("video", "video-1")]
