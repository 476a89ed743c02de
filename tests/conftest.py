from __future__ import annotations

import logging

import pytest
import yaml

from bot.sandbox import TelegramSandbox
from tests.harness import DATA, TOKEN, fresh_database, polling_world, populate, test_settings


@pytest.fixture
async def world(tmp_path, request):
    """A running bot: sandbox, database, our polling loop into the inbox, inbox workers, outbox."""
    overrides = dict(getattr(request, "param", {}) or {})
    if patch := overrides.pop("org_patch", None):
        org = yaml.safe_load((DATA / "org.yaml").read_text(encoding="utf-8"))
        for key, value in patch.items():
            org[key] = {**org[key], **value} if isinstance(value, dict) and isinstance(org.get(key), dict) else value
        path = tmp_path / "org.yaml"
        path.write_text(yaml.safe_dump(org, allow_unicode=True), encoding="utf-8")
        overrides["HUYING_ORG_FILE"] = str(path)
    sb = TelegramSandbox(bot_token=TOKEN, bot_username="huying_bot", privacy_mode=False)
    await sb.start(host="127.0.0.1", port=0)
    populate(sb)
    db_url = await fresh_database(tmp_path)
    settings = test_settings(db_url, TELEGRAM_API_URL=sb.base_url, **overrides)
    async with polling_world(sb, settings) as w:
        yield w
    await sb.stop()
    logging.getLogger(__name__).debug("world stopped")
