"""Real-world Telegram updates (../shared/corpus/telegram) all pass through the bot:
no exception, and no ticket from a service message."""
from __future__ import annotations

import copy
import json
import logging
from pathlib import Path

import pytest
from sqlalchemy import func, select

from storage.models import Ticket
from tests.harness import COMMUNITY, World

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "telegram"
CONTENT = {"text", "caption", "photo", "document", "video", "location", "sticker", "animation", "voice", "audio",
           "contact", "poll", "venue", "dice", "video_note", "story", "paid_media"}
FILES = sorted(CORPUS.glob("*.json")) if CORPUS.is_dir() else []


def as_update(path: Path, update_id: int) -> tuple[dict, bool]:
    """Wrap a corpus file as an update aimed at our community chat; say if it is a service message."""
    raw = json.loads(path.read_text(encoding="utf-8"))
    if "update_id" in raw:
        update = copy.deepcopy(raw)
    elif path.name.startswith("callback"):
        update = {"callback_query": raw}
    else:
        update = {"message": raw}
    update["update_id"] = update_id
    message = update.get("message") or update.get("edited_message")
    if message and message.get("chat", {}).get("type") in ("group", "supergroup"):
        message["chat"]["id"] = COMMUNITY
    service = bool(message) and not (CONTENT & message.keys())
    return update, service


@pytest.mark.skipif(not FILES, reason="shared/corpus/telegram is not beside the repository")
async def test_every_corpus_update_passes_without_error_and_service_messages_make_no_ticket(
        world: World, caplog: pytest.LogCaptureFixture):
    caplog.set_level(logging.ERROR)
    for n, path in enumerate(FILES, start=1):
        before = await world.scalar(select(func.count()).select_from(Ticket))
        update, service = as_update(path, 700_000 + n)
        await world.sb.inject_update(update)
        await world.settle()
        after = await world.scalar(select(func.count()).select_from(Ticket))
        if service:
            assert after == before, f"{path.name}: a service message made a ticket"
        errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
        assert not errors, f"{path.name}: {errors[0].getMessage()}"
    assert len(FILES) >= 30
