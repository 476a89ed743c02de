"""storage/object_builder.py: objects built past the attribute events behave as the ORM's own —
one from `as_loaded` as a row just read (clean, changes written by the next flush, a column left
out loaded when read), one from `transient` as a new object — and a name that is not the model's
is refused as the declarative constructor refuses it."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlalchemy import select

from storage.db import make_engine, make_sessionmaker, migrate
from storage.models import Chat, TicketEvent
from storage.object_builder import as_loaded, transient
from tests.harness import fresh_database

NOW = datetime(2026, 11, 30, 8, 0, tzinfo=timezone.utc)


@pytest.fixture
async def sessions(tmp_path):
    url = await fresh_database(tmp_path)
    await migrate(url)
    engine = make_engine(url)
    yield make_sessionmaker(engine)
    await engine.dispose()


async def test_as_loaded_is_a_clean_object_of_the_row_and_its_changes_are_written(sessions):
    async with sessions() as session:
        session.add(Chat(id=-100, kind="community", title="港口社区", locale="en"))
        await session.commit()
    async with sessions() as session:
        chat = as_loaded(session, Chat, {"id": -100, "kind": "community", "title": "港口社区"})
        assert chat in session and not session.new and not session.dirty
        assert (await session.get(Chat, -100)) is chat  # the identity map has it
        assert await session.run_sync(lambda s: chat.locale) == "en"  # left out: loaded when read
        chat.title = "港口社区居民群"
        assert chat in session.dirty
        await session.commit()
    async with sessions() as session:
        assert (await session.execute(select(Chat.title).where(Chat.id == -100))).scalar_one() == "港口社区居民群"


def test_transient_is_a_new_object_with_the_values_and_its_events():
    event = transient(TicketEvent, {"ticket_id": 7, "at": NOW, "kind": "created"})
    assert (event.ticket_id, event.at, event.kind, event.id, event.data) == (7, NOW, "created", None, None)
    event.kind = "triage"  # set through the descriptor as on any object
    assert event.kind == "triage"


def test_a_name_the_model_does_not_have_is_refused():
    with pytest.raises(TypeError, match="tiket_id"):
        transient(TicketEvent, {"tiket_id": 7})
    with pytest.raises(TypeError):
        TicketEvent(tiket_id=7)  # as the declarative constructor does
