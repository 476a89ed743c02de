"""Import the org file into the database (DESIGN §1).

The database is the source of truth after import: re-importing updates what the
file names and loses nothing else (chats bound with /bind, roles given with /role,
chat languages changed with /lang all survive).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.org import OrgFile
from storage import directory
from storage.common import insert_ignore, serialize
from storage.models import Area, Chat, Department, Person, PersonRole


async def _chat(session: AsyncSession, chat_id: int, kind: str, locale: str, *, area_code: str | None = None,
                department_code: str | None = None) -> None:
    """The chat is what the file says, and only that (a department's chat named as a community's is
    no longer the department's)."""
    c = await session.get(Chat, chat_id)
    if c is None:
        session.add(Chat(id=chat_id, kind=kind, locale=None, area_code=area_code, department_code=department_code))
    elif c.migrated_to:  # the group moved on; the file still names its old id
        return
    else:
        c.kind, c.active, c.area_code, c.department_code = kind, True, area_code, department_code
    await session.flush()
    await directory.one_desk_per_department(session, chat_id, department_code)


@dataclass
class Moved:
    """What an import moved to another chat: departments (by code), and whether the dispatch desk."""

    departments: list[str] = field(default_factory=list)
    dispatch: bool = False


async def _desk(session: AsyncSession, chat_id: int, kind: str, locale: str) -> bool:
    """The one dispatch (or leaders') chat the file names is that desk after every import, as the
    file says (a new id, or back to an earlier one); any other chat of that kind stops being one,
    as with /bind. A desk moved with /bind while the file names another lasts until the next start:
    to move it for good, change the file (or leave the key out and use /bind)."""
    others = list((await session.execute(select(Chat).where(Chat.kind == kind, Chat.active, Chat.id != chat_id)))
                  .scalars())
    await _chat(session, chat_id, kind, locale)
    for other in others:
        other.active = False
    return bool(others)


async def import_org(session: AsyncSession, org: OrgFile) -> Moved:
    """Import the file; returns what it moved to another chat (the open tickets' cards, with their
    buttons, are in the chat they had)."""
    # Instances started together import one after the other (each their own transaction), so
    # neither trips over the rows the other is inserting.
    await serialize(session, "org import")
    moved = Moved()
    locale = org.locale
    for a in org.areas:
        row = await session.get(Area, a.code)
        if row is None:
            session.add(Area(code=a.code, name=a.name))
        else:
            row.name = a.name
    for d in org.departments:
        row = await session.get(Department, d.code)
        if row is None:
            session.add(Department(code=d.code, name=d.name, chat_id=d.chat, leader_id=d.leader))
        else:
            row.name, row.leader_id = d.name, d.leader  # a leader taken out of the file is out
            if d.chat is not None:
                # Keep a migrated chat id: the file may still name the old group.
                old = await session.get(Chat, d.chat)
                chat_id = old.migrated_to if old is not None and old.migrated_to else d.chat
                if row.chat_id is not None and row.chat_id != chat_id:
                    moved.departments.append(d.code)
                row.chat_id = chat_id
    await session.flush()
    for a in org.areas:
        for chat_id in a.chats:
            await _chat(session, chat_id, "community", locale, area_code=a.code)
    for d in org.departments:
        if d.chat is not None:
            await _chat(session, d.chat, "department", locale, department_code=d.code)
    if org.dispatch_chat is not None:
        moved.dispatch = await _desk(session, org.dispatch_chat, "dispatch", locale)
    if org.leaders_chat is not None:
        await _desk(session, org.leaders_chat, "leaders", locale)

    # Roles from the file are replaced wholesale; roles given by command stay.
    await session.execute(delete(PersonRole).where(PersonRole.source == "org"))
    grants: list[tuple[int, str, str]] = [(uid, "admin", "") for uid in org.admins]
    for d in org.departments:
        grants += [(uid, "handler", d.code) for uid in d.handlers]
        if d.leader:
            grants.append((d.leader, "leader", d.code))
    for p in org.people:
        scope = p.department or p.area or ""
        grants.append((p.id, p.role, scope))
    for uid, role, scope in grants:
        if await session.get(Person, uid) is None:
            session.add(Person(id=uid))
            await session.flush()
        await insert_ignore(session, PersonRole, {"person_id": uid, "role": role, "scope": scope, "source": "org"})
    for p in org.people:
        person = await session.get(Person, p.id)
        if p.area:
            person.area_code = p.area
        if p.name:
            person.full_name = p.name
    return moved
