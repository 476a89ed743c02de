from __future__ import annotations

import asyncio
import logging

import pytest

from bot.app import running
from bot.sandbox import TelegramSandbox
from tests.harness import TOKEN, ShiftedClock, World, fresh_database, populate, test_settings


@pytest.fixture
async def world(tmp_path, request):
    """A running bot: sandbox, database, Dispatcher polling, outbox worker."""
    overrides = getattr(request, "param", {}) or {}
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
