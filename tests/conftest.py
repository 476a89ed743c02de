from __future__ import annotations

import asyncio
import logging

import pytest
import yaml

from bot.app import inbox_workers, running
from bot.receiving import Poller
from bot.sandbox import TelegramSandbox
from tests.harness import DATA, TOKEN, ShiftedClock, World, fresh_database, populate, test_settings


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
    clock = ShiftedClock()
    async with running(settings, clock=clock, with_scheduler=False) as (app, bot, dp):
        # The real receiving path: getUpdates → the inbox → the inbox workers → the Dispatcher.
        poller = Poller(app, bot, timeout=1)
        w = World(sb=sb, clock=clock, app=app, bot=bot, dp=dp, inbox=inbox_workers(dp))
        polling = asyncio.create_task(poller.run())
        try:
            yield w
        finally:
            poller.stop()
            try:
                await asyncio.wait_for(polling, timeout=5)
            except (TimeoutError, asyncio.CancelledError):
                polling.cancel()
    await sb.stop()
    logging.getLogger(__name__).debug("world stopped")
