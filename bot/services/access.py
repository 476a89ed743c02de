"""Who may do what: roles from the directory, deduplication, language choice."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.context import App
from bot.domain.appeal import is_reporter
from bot.domain.lifecycle import Actor, Refusal
from bot.i18n import person_language
from storage import directory, inbox
from storage.models import Ticket

VOLUNTEER_ROLES = {"grid_volunteer", "building_leader"}


@dataclass
class Roles:
    user_id: int | None = None
    admin: bool = False
    dispatcher: bool = False
    leader: bool = False
    volunteer_areas: set[str] = field(default_factory=set)
    handler_of: set[str] = field(default_factory=set)
    # The department whose chat the person was seen to be a member of, in the chat they act in
    # (members of a department's chat count as its handlers; the handlers look it up).
    member_of: str | None = None

    @property
    def volunteer(self) -> bool:
        return bool(self.volunteer_areas)

    @property
    def can_dispatch(self) -> bool:
        return self.dispatcher or self.admin

    def handles(self, dept: str | None) -> bool:
        """A handler of `dept`: by role, or as a member of its chat."""
        return bool(dept) and (dept in self.handler_of or dept == self.member_of)

    def actors_for(self, ticket: Ticket, co_depts: Iterable[str] = ()) -> set[Actor]:
        """Everything this person is to this ticket: the one place authority is worked out
        (`co_depts`: the ticket's co-departments, where the action asks about them)."""
        actors: set[Actor] = set()
        if self.admin:
            actors.add(Actor.ADMIN)
        if self.dispatcher:
            actors.add(Actor.DISPATCHER)
        if self.leader:
            actors.add(Actor.LEADER)
        if is_reporter(self.user_id, ticket.reporter_id, ticket.on_behalf_user_id):
            actors.add(Actor.REPORTER)
        if self.handles(ticket.lead_dept):
            actors.add(Actor.HANDLER)
        if self.user_id is not None and self.user_id == ticket.owner_id:
            actors.add(Actor.OWNER)
        if any(self.handles(d) for d in co_depts):
            actors.add(Actor.CO_HANDLER)
        return actors


def require_admin(roles: Roles) -> None:
    """What only admins may do (/bind, /role, /health, a group's /lang)."""
    if not roles.admin:
        raise Refusal("error.admin_only")


async def first_delivery(session: AsyncSession, app: App, update_id: int) -> bool:
    """Record an update id; False when it was seen before (DESIGN §5: a set, not a high-water mark)."""
    try:
        return await inbox.first_seen(session, update_id, app.now())
    except IntegrityError:
        await session.rollback()
        return False


async def roles_of(session: AsyncSession, user_id: int) -> Roles:
    r = Roles(user_id=user_id)
    for row in await directory.roles(session, user_id):
        if row.role == "admin":
            r.admin = True
        elif row.role == "dispatcher":
            r.dispatcher = True
        elif row.role == "leader":
            r.leader = True
        elif row.role in VOLUNTEER_ROLES:
            r.volunteer_areas.add(row.scope or "*")
        elif row.role == "handler" and row.scope:
            r.handler_of.add(row.scope)
    return r


async def remember(session: AsyncSession, app: App, user_id: int, full_name: str | None, username: str | None,
                   private: bool, language: str | None = None) -> Roles:
    await directory.remember_person(session, user_id, full_name, username, language, started=private or None)
    return await roles_of(session, user_id)


async def locale_for(session: AsyncSession, app: App, chat_id: int | None, chat_type: str | None,
                     user_id: int | None, user_language: str | None) -> str:
    if chat_type == "private" or chat_id is None:
        person = await directory.person(session, user_id) if user_id else None
        return person_language(person.locale if person else None,
                               user_language or (person.language_code if person else None), app.default_locale)
    chat = await directory.chat(session, chat_id)
    return chat.locale if chat and chat.locale else app.default_locale


STAFF_CHATS = ("dispatch", "leaders", "department")


async def staff_chat(session: AsyncSession, chat_id: int, chat_type: str) -> bool:
    """Private chats and the office's own chats; never a community chat (it is public)."""
    if chat_type == "private":
        return True
    chat = await directory.chat(session, chat_id)
    return bool(chat and chat.active and chat.kind in STAFF_CHATS)
