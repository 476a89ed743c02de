"""A bare aiogram echo bot, the baseline of bench/intake.py: one handler that replies, aiogram's
defaults (polling with handle_as_tasks; the webhook answered at once, handled in the background).

    BOT_TOKEN=… TELEGRAM_API_URL=… .venv/bin/python bench/echo_bot.py polling
    BOT_TOKEN=… TELEGRAM_API_URL=… LISTEN_PORT=… WEBHOOK_URL=… .venv/bin/python bench/echo_bot.py webhook

Runs until SIGTERM. No database, no outbox: what any aiogram bot costs at the least.
"""
from __future__ import annotations

import asyncio
import os
import signal
import sys

from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import Message
from aiogram.webhook.aiohttp_server import SimpleRequestHandler, setup_application
from aiohttp import web

PATH = "/telegram/webhook"


async def main(mode: str) -> None:
    bot = Bot(os.environ["BOT_TOKEN"],
              session=AiohttpSession(api=TelegramAPIServer.from_base(os.environ["TELEGRAM_API_URL"])))
    dp = Dispatcher()

    @dp.message()
    async def echo(message: Message) -> None:
        await message.reply(f"#echo {message.text}")

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    if mode == "polling":
        await bot.delete_webhook()
        polling = asyncio.create_task(dp.start_polling(bot, handle_signals=False, polling_timeout=10))
        await stop.wait()
        await dp.stop_polling()
        await polling
        return
    app = web.Application()
    SimpleRequestHandler(dispatcher=dp, bot=bot).register(app, path=PATH)
    setup_application(app, dp, bot=bot)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", int(os.environ["LISTEN_PORT"])).start()
    await bot.set_webhook(os.environ["WEBHOOK_URL"])
    await stop.wait()
    await runner.cleanup()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else "polling"))
