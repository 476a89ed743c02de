"""A day's change set reviewed before it ships: cases it missed and what it broke (a review from outside)."""
from __future__ import annotations

import json

from sqlalchemy import select

from storage.models import Ticket
from tests.harness import (
    CGJ_CHAT, COMMUNITY, DISPATCH_CHAT, DISPATCHER, HANDLER_A, RESIDENT, RESIDENT_2, TOKEN, VOLUNTEER, World,
    fresh_database, populate,
)
from tests.steps import ZH, accept, appeal, has_button, press, showing, submit_result, through_resolution, ticket

RUBBISH = "小区门口垃圾三天没人清运了，异味很大"


# ---------------------------------------------------------------- "it is back" on a closed ticket

async def test_reporter_saying_it_is_back_in_private_on_a_closed_ticket_files_a_related_appeal(world: World):
    """README "What residents add": once the ticket is over, the reporter's words about it file a new
    appeal related to it. Today's change does it for a reply in the community chat
    (support.on_reply), but the same reply in the private chat — where a resident who appealed in
    private talks to the bot — is still "added" (👌) to the closed ticket, where nobody reads it."""
    await world.send(RESIDENT, RESIDENT, "/start")
    await world.reply_from_bot(RESIDENT)
    await world.send(RESIDENT, RESIDENT, f"/appeal {RUBBISH}")
    ack = await world.reply_from_bot(RESIDENT, contains="#2026-000001")
    card = await world.reply_from_bot(DISPATCH_CHAT, predicate=has_button("派单"))
    await press(world, DISPATCHER, DISPATCH_CHAT, card, "派单")
    dept_card = await world.reply_from_bot(CGJ_CHAT, predicate=has_button("签收"))
    await accept(world, HANDLER_A, CGJ_CHAT, dept_card)
    await submit_result(world, HANDLER_A, CGJ_CHAT, dept_card, "已清运")
    question = await world.reply_from_bot(RESIDENT, predicate=has_button("非常满意"))
    await press(world, RESIDENT, RESIDENT, question, "非常满意")
    await world.settle()
    assert (await ticket(world)).status == "CLOSED"
    # A week later the rubbish is back; the reporter says so under the bot's acknowledgement.
    await world.send(RESIDENT, RESIDENT, "垃圾又堆起来了，还是没人管，臭得不行", reply_to=ack["message_id"])
    await world.settle()
    rows = await world.rows(select(Ticket).order_by(Ticket.id))
    assert len(rows) == 2, ([(t.code, t.status) for t in rows], world.sb.bot_messages(RESIDENT)[-1].get("text"))


async def test_reporter_saying_it_broke_again_under_a_closed_ack_is_not_met_with_silence(world: World):
    """The same README promise in the group, phrased as people say it: "又堆满了" ("piled up again")
    under the reporter's own closed acknowledgement. The classifier subtracts the ticket's own words
    (垃圾, 清运), so what is left is two characters: "chatter", and support.on_reply's new branch for
    an over ticket drops it — no appeal, no answer at all (before today it was at least 👌 added)."""
    await through_resolution(world, RUBBISH)
    q = await showing(world, COMMUNITY, "非常满意")
    await press(world, RESIDENT, COMMUNITY, q, "非常满意")
    assert (await ticket(world)).status == "CLOSED"
    ack = world.sb.bot_messages(COMMUNITY)[0]
    n0 = len(world.sb.bot_messages(COMMUNITY))
    back = await world.send(RESIDENT, COMMUNITY, "又堆满了", reply_to=ack["message_id"])
    await world.settle()
    rows = await world.rows(select(Ticket))
    answered = len(world.sb.bot_messages(COMMUNITY)) > n0 or world.sb.bot_reaction(COMMUNITY, back["message_id"])
    assert len(rows) == 2 or answered, ([t.code for t in rows], world.sb.bot_messages(COMMUNITY)[-1].get("text"))


# ---------------------------------------------------------------- an edit of a merged appeal

async def test_a_correction_by_edit_of_a_merged_appeal_reaches_the_ticket_that_carries_it(world: World):
    """Today: "an edit of the appeal is a correction ... rides on the dispatch card and on the
    department's card, and a department already working the ticket is told at once". A reply that
    adds to a merged appeal follows the merge to the surviving ticket (support.surviving_for); an
    edit does not (intake.record_edit uses the merged ticket itself): the correction of the building
    lands on a MERGED ticket nobody works, and the department goes to the wrong door."""
    await appeal(world, RESIDENT, "幸福花园3号楼下面的垃圾桶满了好几天了，一直没人来清运，臭得不行")
    card = await world.reply_from_bot(DISPATCH_CHAT, contains="#2026-000001")
    second = await world.send(RESIDENT_2, COMMUNITY, "@huying_bot 幸福花园3号楼楼下垃圾桶满了，好几天没人清运")
    dup = await world.reply_from_bot(DISPATCH_CHAT, contains="#2026-000002")
    await press(world, DISPATCHER, DISPATCH_CHAT, dup, "合并到 #2026-000001")
    await press(world, DISPATCHER, DISPATCH_CHAT, world.sb.message(DISPATCH_CHAT, card["message_id"]), "派单")
    dept_card = await world.reply_from_bot(CGJ_CHAT, predicate=has_button("签收"))
    await accept(world, HANDLER_A, CGJ_CHAT, dept_card)
    await world.sb.user_edits(RESIDENT_2, COMMUNITY, second["message_id"],
                              "@huying_bot 更正：是幸福花园7号楼楼下垃圾桶满了，好几天没人清运")
    await world.settle()
    said_to_dept = [m.get("text") or m.get("caption") or "" for m in world.sb.bot_messages(CGJ_CHAT)]
    said_to_dept += [world.sb.message(CGJ_CHAT, dept_card["message_id"]).get("text") or ""]
    assert any("7号楼" in t for t in said_to_dept), said_to_dept


# ---------------------------------------------------------------- Open311: "report" in English

async def test_an_open311_request_that_says_report_in_english_stays_readable_by_its_channel(world: World):
    """Today's change makes the kind an Open311 request's words state win over its service's
    (intake.file_channel_appeal, stated_kind). The English cue for 举报 is the bare word "report",
    which is how every English web form words a request ("I'd like to report a pothole"): the
    ticket becomes a 举报, and the channel that just filed it gets 404 for its own
    service_request_id (README: 举报 are "neither listed nor found by id")."""
    from tests.test_open311 import FORM, get, post
    from tests.webharness import serving

    form = {**FORM, "description": "I would like to report that the garbage bins at the crossing are full"}
    async with serving(world) as base:
        status, body = await post(base, "requests.json", form)
        assert status == 200, body
        code = json.loads(body)[0]["service_request_id"]
        await world.settle()
        status, _, body = await get(base, f"requests/{code}.json")
    t = (await world.rows(select(Ticket)))[0]
    assert t.kind != "report" and status == 200, (t.kind, status, body)


# ---------------------------------------------------------------- the org file moves the desk back

async def test_moving_the_dispatch_desk_back_to_an_earlier_chat_in_the_org_file_is_imported(tmp_path):
    """README (today): "A new `dispatch_chat` ... moves that desk (the old chat stops being one, as with
    `/bind`; a chat `/bind` has since moved away from stays so)". An operator moves the desk from
    group A to group B by editing the file, finds B was the wrong group, and edits the file back to A.
    orgsync._desk cannot tell "the file moved away from A" from "/bind moved away from A": the file
    names A, A is an inactive dispatch chat and B is active, so the import keeps B — the operator's
    edit is silently ignored and the cards keep going to B."""
    from bot.sandbox import TelegramSandbox
    from tests.test_going_live_review import org_file, world_on

    a, b = -1001000000050, DISPATCH_CHAT
    async with TelegramSandbox(bot_token=TOKEN, bot_username="huying_bot", privacy_mode=False) as sb:
        populate(sb)
        sb.add_chat(a, type="supergroup", title="派单群A")
        db_url = await fresh_database(tmp_path)
        async with world_on(sb, db_url, org_file(tmp_path, "one.yaml", dispatch_chat=a)):
            pass
        async with world_on(sb, db_url, org_file(tmp_path, "two.yaml", dispatch_chat=b)):
            pass
        async with world_on(sb, db_url, org_file(tmp_path, "three.yaml", dispatch_chat=a)) as w:
            await appeal(w, RESIDENT, RUBBISH)
            await w.settle()
            in_a = [m.get("text") or "" for m in sb.bot_messages(a)]
            in_b = [m.get("text") or "" for m in sb.bot_messages(b)]
    assert any("#2026-000001" in t for t in in_a), (in_a, in_b)


# ---------------------------------------------------------------- a volunteer's reply under a filed message

async def test_a_volunteers_reply_under_a_neighbours_hashtag_appeal_does_not_file_it_twice(world: World):
    """Today's `retold` (handlers/intake.py): a volunteer calling the bot in reply to a neighbour's
    message files the neighbour's words on their behalf — unless "the neighbour filed it themselves",
    which it judges only by a mention or /appeal. A neighbour who used a hashtag (#求助, DESIGN §5,
    privacy mode off) has a ticket already; the volunteer's "please hurry" under it files the same
    words a second time, on the neighbour's behalf: two tickets, two rating rounds, for one matter
    (DESIGN §8 "One matter, one ticket")."""
    elder = await world.send(RESIDENT_2, COMMUNITY, "#求助 我家厨房水管漏水好几天了，地上全是水，没人来修")
    await world.reply_from_bot(COMMUNITY, contains="#2026-000001")
    await world.send(VOLUNTEER, COMMUNITY, "@huying_bot 这位是独居老人，请尽快安排", reply_to=elder["message_id"])
    await world.settle()
    rows = await world.rows(select(Ticket).order_by(Ticket.id))
    twice = [t.code for t in rows if "水管漏水" in (t.text or "")]
    assert len(twice) == 1, [(t.code, t.text, t.on_behalf_user_id) for t in rows]


# ---------------------------------------------------------------- links written before the upgrade

async def test_an_extension_card_posted_before_the_upgrade_is_disarmed_when_the_request_lapses(world: World):
    """Today's _lapse_extensions finds an ext card by the `{"extension": id}` the card's link now
    carries. A request asked the day before the upgrade has a link without it: at 办结 the request
    is marked `lapsed`, but its card in the dispatch chat keeps 批准延期 / 不予延期 — the very thing
    the change set out to end — and a press then only says the button expired."""
    from sqlalchemy import update

    from storage.models import Extension, MessageLink
    from tests.steps import resolve_on
    from tests.test_story_desk_review import _dispatched_to_cgj

    _card, dept_card = await _dispatched_to_cgj(world)
    await press(world, HANDLER_A, CGJ_CHAT, dept_card, "签收")
    await press(world, HANDLER_A, CGJ_CHAT, world.sb.message(CGJ_CHAT, dept_card["message_id"]), "申请延期")
    prompt = await world.reply_from_bot(CGJ_CHAT, contains="日期")
    await world.send(HANDLER_A, CGJ_CHAT, "需要协调环卫车辆 2026-12-10", reply_to=prompt["message_id"])
    request = await world.reply_from_bot(DISPATCH_CHAT, contains="2026-12-10")
    async with world.app.sessions() as s:  # the link as the previous release wrote it
        await s.execute(update(MessageLink).where(MessageLink.purpose == "ext_card").values(data=None))
        await s.commit()
    await resolve_on(world, world.sb.message(CGJ_CHAT, dept_card["message_id"]), "垃圾已全部清运")
    [ext] = await world.rows(select(Extension))
    assert ext.status == "lapsed"
    shown = world.sb.message(DISPATCH_CHAT, request["message_id"])
    assert world.sb.buttons(shown) == [], (world.sb.buttons(shown), shown["text"])


# ---------------------------------------------------------------- a voice message with words

async def test_a_captioned_voice_message_added_to_the_ack_is_not_confirmed_as_added(world: World):
    """README: a voice message or a file in such a reply is answered ('cannot be passed on yet'), not
    dropped in silence — also when it carries a caption: the words are added, the recording is not,
    and the reporter must hear which."""
    ack = await appeal(world, RESIDENT, RUBBISH)
    voice = {"voice": {**world.sb.world.new_document(b"OggS-sandbox", None, "audio/ogg", "voice"), "duration": 9},
             "caption": "你们听，就是门口这一堆"}
    sent = await world.send(RESIDENT, COMMUNITY, reply_to=ack["message_id"], extra=voice)
    assert sent.get("caption") and "voice" in sent
    await world.settle()
    said = [m.get("text") or "" for m in world.sb.bot_messages(COMMUNITY)]
    assert ZH("intake.words_kept_media_not", code="#2026-000001") in said, (
        world.sb.bot_reaction(COMMUNITY, sent["message_id"]), said[-1:])
