"""Who may use a command is decided once, by its service: anyone else gets the catalogue's exact
refusal, checked before the command's own usage, and what the update itself recorded (the sender,
whether they started the bot) is kept although the refused command changed nothing."""
from __future__ import annotations

from sqlalchemy import select

from storage.models import Chat, Person, PersonRole
from tests.harness import ADMIN, CGJ_LEADER, COMMUNITY, DISPATCH_CHAT, RESIDENT, RESIDENT_2, STRANGER, World
from tests.steps import ZH


async def answer_to(world: World, user: int, chat: int, text: str) -> str:
    """What the bot answers `user`'s command in `chat`."""
    sent = await world.send(user, chat, text)
    msg = await world.reply_from_bot(chat, predicate=lambda m: (m.get("reply_to_message") or {}).get(
        "message_id") == sent["message_id"])
    return msg["text"]


async def test_admin_commands_are_refused_to_others_before_their_usage(world: World):
    for text in ("/bind community xinhe", "/bind", "/role 50002 dispatcher", "/role 99999999999999999999 admin",
                 "/role", "/health", "/lang en"):
        assert await answer_to(world, RESIDENT, COMMUNITY, text) == ZH("error.admin_only"), text
    assert await world.rows(select(PersonRole).where(PersonRole.person_id == RESIDENT_2)) == []
    assert (await world.scalar(select(Chat).where(Chat.id == COMMUNITY))).locale is None
    # An admin gets the commands' own answers.
    assert await answer_to(world, ADMIN, ADMIN, "/bind dispatch") == ZH("bind.group_only")
    assert await answer_to(world, ADMIN, DISPATCH_CHAT, "/role") == ZH("role.usage")


async def test_a_refused_command_in_private_still_records_that_the_person_started_the_bot(world: World):
    assert await answer_to(world, STRANGER, STRANGER, "/bind dispatch") == ZH("error.admin_only")
    person = await world.scalar(select(Person).where(Person.id == STRANGER))
    assert person is not None and person.started


async def test_leaders_commands_and_hotspots_are_refused_to_others(world: World):
    for text in ("/take", "/take #2026-000001", "/instruct", "/instruct #2026-000001 请尽快处理"):
        assert await answer_to(world, RESIDENT, RESIDENT, text) == ZH("take.leaders_only"), text
    assert await answer_to(world, RESIDENT, COMMUNITY, "/hotspots") == ZH("hotspots.staff_only")
    # A leader gets the commands' own answers.
    assert await answer_to(world, CGJ_LEADER, CGJ_LEADER, "/take") == ZH("take.usage")
    assert await answer_to(world, CGJ_LEADER, CGJ_LEADER, "/instruct #2026-000001") == ZH("instruct.usage")
    assert await answer_to(world, CGJ_LEADER, CGJ_LEADER, "/instruct #2026-009999 请尽快处理") == ZH(
        "ticket.not_found", code="#2026-009999")
