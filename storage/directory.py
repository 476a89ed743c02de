"""Who is who and which chat is what: chats, people, roles, departments, areas."""
from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Select, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.common import insert_ignore, upsert
from storage.directory_cache import MISSING, PEOPLE_WRITTEN, adopt, cache_of, snapshot
from storage.models import Area, Chat, Department, Person, PersonRole

# Reads below go through the App's in-process copy (storage/directory_cache.py): what they
# return is bound to the caller's session as if it had been loaded, and may be changed.


async def _get(session: AsyncSession, model: type, key: object):  # noqa: ANN202
    cache = cache_of(session)
    if cache is None:
        return await session.get(model, key)
    await cache.check(session)
    hit = cache.get((model, key))
    if hit is MISSING:
        generation = cache.generation
        obj = await session.get(model, key)
        cache.put((model, key), None if obj is None else snapshot(obj), generation)
        return obj
    return None if hit is None else adopt(session, model, hit)


async def _list(session: AsyncSession, model: type, key: object, query: Callable[[], Select]) -> list:
    rows, hit = await _listing(session, key, query)
    return rows if hit is None else [adopt(session, model, values) for values in hit]


async def _listing(session: AsyncSession, key: object, query: Callable[[], Select]) -> tuple[list, list[dict] | None]:
    """A listing as loaded rows, or as the copy's column values (no object is built for a
    caller that wants one of them, or only names)."""
    cache = cache_of(session)
    if cache is None:
        return list((await session.execute(query())).scalars()), None
    await cache.check(session)
    hit = cache.get(key)
    if hit is MISSING:
        generation = cache.generation
        rows = list((await session.execute(query())).scalars())
        cache.put(key, [snapshot(r) for r in rows], generation)
        return rows, None
    return [], hit


async def chat(session: AsyncSession, chat_id: int) -> Chat | None:
    return await _get(session, Chat, chat_id)


async def department(session: AsyncSession, code: str) -> Department | None:
    return await _get(session, Department, code)


def _all_departments() -> Select:
    return select(Department).order_by(Department.code)


async def departments(session: AsyncSession) -> list[Department]:
    return await _list(session, Department, "departments", _all_departments)


async def department_names(session: AsyncSession) -> dict[str, str]:
    """Names by code (read on every card: no Department objects built for it)."""
    rows, hit = await _listing(session, "departments", _all_departments)
    return {d.code: d.name for d in rows} if hit is None else {v["code"]: v["name"] for v in hit}


async def department_by_chat(session: AsyncSession, chat_id: int) -> Department | None:
    def q() -> Select:
        return select(Department).where(Department.chat_id == chat_id).order_by(Department.code).limit(1)

    found = await _list(session, Department, ("department_by_chat", chat_id), q)
    return found[0] if found else None


async def area(session: AsyncSession, code: str) -> Area | None:
    return await _get(session, Area, code)


async def areas(session: AsyncSession) -> list[Area]:
    return await _list(session, Area, "areas", lambda: select(Area).order_by(Area.code))


def _active_of_kind(kind: str) -> Callable[[], Select]:
    return lambda: select(Chat).where(Chat.kind == kind, Chat.active.is_(True)).order_by(Chat.id)


async def chats_of_kind(session: AsyncSession, kind: str) -> list[Chat]:
    return await _list(session, Chat, ("chats_of_kind", kind), _active_of_kind(kind))


async def first_chat_of_kind(session: AsyncSession, kind: str) -> Chat | None:
    rows, hit = await _listing(session, ("chats_of_kind", kind), _active_of_kind(kind))
    if hit is not None:
        return adopt(session, Chat, hit[0]) if hit else None
    return rows[0] if rows else None


async def person(session: AsyncSession, user_id: int) -> Person | None:
    return await session.get(Person, user_id)


async def remember_person(
    session: AsyncSession, user_id: int, full_name: str | None, username: str | None,
    language: str | None = None, started: bool | None = None,
) -> None:
    """Upsert: two updates from one person may arrive at once (an album).

    Skipped when this process already recorded the same name and username (most updates):
    no write for a person who has not changed.
    """
    cache = session.info.get("directory")
    recorded = (full_name, username, language)
    if cache is not None and not started and cache.person_unchanged(user_id, recorded):
        return
    values = {"id": user_id, "full_name": full_name, "username": username, "started": bool(started), "blocked": False,
              "language_code": language}
    update = ["full_name", "username"] + (["language_code"] if language else []) + (["started", "blocked"] if started else [])
    await upsert(session, Person, values, keys=["id"], update=update)
    if cache is not None:
        session.info.setdefault(PEOPLE_WRITTEN, {})[user_id] = recorded


async def roles(session: AsyncSession, user_id: int) -> list[PersonRole]:
    def q() -> Select:
        return select(PersonRole).where(PersonRole.person_id == user_id).order_by(PersonRole.role, PersonRole.scope)

    return await _list(session, PersonRole, ("roles", user_id), q)


async def role_holders(session: AsyncSession, role: str, scope: str | None = None) -> list[int]:
    q = select(PersonRole.person_id).where(PersonRole.role == role)
    if scope is not None:
        q = q.where(PersonRole.scope == scope)
    return list((await session.execute(q)).scalars())


async def grant(session: AsyncSession, user_id: int, role: str, scope: str = "", source: str = "command") -> bool:
    if await session.get(Person, user_id) is None:
        session.add(Person(id=user_id))
        await session.flush()
    return await insert_ignore(session, PersonRole, {"person_id": user_id, "role": role, "scope": scope, "source": source})


async def revoke(session: AsyncSession, user_id: int, role: str, scope: str | None = None) -> int:
    q = delete(PersonRole).where(PersonRole.person_id == user_id, PersonRole.role == role)
    if scope is not None:
        q = q.where(PersonRole.scope == scope)
    return (await session.execute(q)).rowcount


async def bind_chat(
    session: AsyncSession, chat_id: int, kind: str, *, area: str | None = None, department: str | None = None,
    title: str | None = None, locale: str | None = None,
) -> Chat:
    c = await session.get(Chat, chat_id)
    if c is None:
        c = Chat(id=chat_id, kind=kind)
        session.add(c)
    c.kind, c.area_code, c.department_code, c.active = kind, area, department, True
    c.title = title or c.title
    if locale:
        c.locale = locale
    await one_desk_per_department(session, chat_id, department)
    return c


async def one_desk_per_department(session: AsyncSession, chat_id: int, department: str | None) -> None:
    """A chat is one thing at a time, and a department has one chat: a department whose chat this was
    (it is now a community's, a desk's or another department's) has none until it is given one —
    its cards went on into a neighbours' group — and the department's earlier chat, if it had one,
    stops being its chat (its members would keep acting for it)."""
    await session.execute(update(Department).where(Department.chat_id == chat_id,
                                                   Department.code != (department or "")).values(chat_id=None))
    if department:
        await session.execute(update(Chat).where(Chat.kind == "department", Chat.department_code == department,
                                                 Chat.id != chat_id).values(active=False))
        await session.execute(update(Department).where(Department.code == department).values(chat_id=chat_id))


async def reactivate(session: AsyncSession, chat_id: int) -> None:
    await session.execute(update(Chat).where(Chat.id == chat_id).values(active=True))


async def set_chat_locale(session: AsyncSession, chat_id: int, locale: str, kind: str = "unknown") -> None:
    c = await session.get(Chat, chat_id)
    if c is None:
        session.add(Chat(id=chat_id, kind=kind, locale=locale))
    else:
        c.locale = locale


async def set_person_locale(session: AsyncSession, user_id: int, locale: str) -> None:
    p = await session.get(Person, user_id)
    if p is None:
        session.add(Person(id=user_id, locale=locale))
    else:
        p.locale = locale


async def migrate_chat(session: AsyncSession, old_id: int, new_id: int) -> bool:
    """Follow a group that became a supergroup (DESIGN §5): the bindings move with it."""
    old = await session.get(Chat, old_id)
    if old is None:
        return False
    new = await session.get(Chat, new_id)
    if new is None:
        new = Chat(id=new_id, kind=old.kind)
        session.add(new)
    new.kind, new.title, new.locale = old.kind, old.title, old.locale
    new.area_code, new.department_code, new.is_forum, new.active = old.area_code, old.department_code, old.is_forum, True
    old.migrated_to, old.active = new_id, False
    await session.execute(update(Department).where(Department.chat_id == old_id).values(chat_id=new_id))
    return True


async def is_blocked_person(session: AsyncSession, user_id: int) -> bool:
    p = await session.get(Person, user_id)
    return bool(p and p.blocked)


async def mark_unreachable(session: AsyncSession, user_id: int) -> None:
    await session.execute(update(Person).where(Person.id == user_id).values(started=False, blocked=True))
