from __future__ import annotations

import asyncio
import logging

import pytest
import yaml

from bot.app import running
from bot.sandbox import TelegramSandbox
from tests.harness import DATA, TOKEN, ShiftedClock, World, fresh_database, populate, test_settings


@pytest.fixture
async def world(tmp_path, request):
    """A running bot: sandbox, database, Dispatcher polling, outbox worker."""
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
        w = World(sb=sb, clock=clock, app=app, bot=bot, dp=dp)
        polling = asyncio.create_task(dp.start_polling(bot, handle_signals=False, close_bot_session=False,
                                                       polling_timeout=1))
        try:
            yield w
        finally:
            await dp.stop_polling()
            try:
                await asyncio.wait_for(polling, timeout=5)
            except (TimeoutError, asyncio.CancelledError, RuntimeError):
                polling.cancel()
    await sb.stop()
    logging.getLogger(__name__).debug("world stopped")
