"""The menu each kind of chat shows (setMyCommands): a staff chat offers what its people work with, and
every command it offers is answered there, not refused as out of place."""
from __future__ import annotations

import json

from tests.harness import (
    ADMIN, CGJ_CHAT, COMMUNITY, DISPATCH_CHAT, DISPATCHER, HANDLER_A, LEADER, LEADERS_CHAT, World,
)
from tests.steps import ZH

DISPATCH = ["queue", "unsatisfied", "ticket", "hotspots", "duty", "cards", "report", "export", "help", "id"]
LEADERS = ["ticket", "take", "instruct", "hotspots", "cards", "report", "export", "help", "id"]
DEPARTMENT = ["open", "mine", "ticket", "cards", "duty", "export", "help", "id"]
GROUPS = ["appeal", "ticket", "help", "id"]
# What a command says where it does not belong.
OUT_OF_PLACE = [ZH(k) for k in ("report.not_here", "export.not_here", "cards.not_here", "duty.not_department")]


def chat_menu(world: World, chat_id: int, lang: str = "") -> list[str] | None:
    """The chat's own menu as published (None: none, the groups' menu shows)."""
    key = f"{json.dumps({'chat_id': chat_id, 'type': 'chat'}, sort_keys=True)}|{lang}"
    found = world.sb.commands.get(key)
    return None if found is None else [c["command"] for c in found]


async def test_each_desk_has_its_own_menu_in_both_languages(world: World):
    for lang in ("", "en"):
        assert (chat_menu(world, DISPATCH_CHAT, lang), chat_menu(world, LEADERS_CHAT, lang),
                chat_menu(world, CGJ_CHAT, lang), chat_menu(world, COMMUNITY, lang)) == (
                    DISPATCH, LEADERS, DEPARTMENT, None), lang
    zh = {c["command"]: c["description"] for c in world.sb.commands[
        f"{json.dumps({'chat_id': CGJ_CHAT, 'type': 'chat'}, sort_keys=True)}|"]}
    assert zh["open"] == ZH("cmd.open") and zh["open"] != "cmd.open"


async def test_every_command_a_desk_menu_offers_is_answered_there(world: World):
    for chat, user, names in ((DISPATCH_CHAT, DISPATCHER, DISPATCH), (LEADERS_CHAT, LEADER, LEADERS),
                              (CGJ_CHAT, HANDLER_A, DEPARTMENT)):
        for name in names:
            before = len(world.sb.bot_messages(chat))
            await world.send(user, chat, f"/{name}")
            await world.settle()
            said = [m.get("text") or m.get("caption") or "" for m in world.sb.bot_messages(chat)[before:]]
            assert said and not any(s in OUT_OF_PLACE for s in said), (chat, name, said)


async def test_binding_a_chat_gives_it_its_menu_and_binding_it_back_takes_it_away(world: World):
    await world.send(ADMIN, COMMUNITY, "/bind department cgj")
    await world.settle()
    assert chat_menu(world, COMMUNITY) == DEPARTMENT
    await world.send(ADMIN, COMMUNITY, "/bind community gangkou")
    await world.settle()
    assert chat_menu(world, COMMUNITY) is None and chat_menu(world, COMMUNITY, "en") is None
