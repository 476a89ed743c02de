"""One outbox send's CPU on the bot's side, three ways, in one process (issue 14).

    .venv/bin/python bench/outbox_call.py [-n 3000] [--rounds 5]

The same outbox row — an acknowledgement: text, a reply to the appeal and a row of two buttons —
sent to a stand-in for Telegram in a child process (it answers every call with a sent message
at once), so this process's CPU time is the client's alone:

* `bot_calls.call` through the outbox's session: the row's call built as JSON and posted as it is
  (what the outbox does);
* aiogram's typed method (pydantic method, keyboard and reply objects, aiogram's own serialising)
  through the same session: what the outbox did before `bot_calls.api_call`;
* the same typed method through aiogram's own session (multipart form, the answer validated
  into a `Message`): what a plain aiogram bot does — the baseline.

The three alternate in blocks of n sends for ``--rounds`` rounds; each line prints CPU µs per
send (median of the rounds) and its ratio to the baseline.
"""
from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import socket
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from aiohttp import web  # noqa: E402

from bot.bot_calls import api_call, call, typed  # noqa: E402
from bot.client import make_bot  # noqa: E402
from bot.settings import Settings  # noqa: E402
from storage.models import OutboxMessage  # noqa: E402

TOKEN = "123456:BENCH"
ROW = OutboxMessage(method="message")
PAYLOAD = {"text": "已受理，编号 #2026-000123。我们会尽快转交相关部门处理，请留意回复。", "reply_to": 41,
           "keyboard": [[{"text": "补充", "data": "t:123:add"}, {"text": "查看进度", "url": "https://t.me/huying_bot?start=t123"}]]}
ANSWER = (b'{"ok":true,"result":{"message_id":42,"date":1764547200,"chat":{"id":-1001000000010,'
          b'"type":"supergroup","title":"burst"},"from":{"id":123456,"is_bot":true,"first_name":"Huying",'
          b'"username":"huying_bot"},"text":"ok"}}')


def stand_in(port: int) -> None:
    async def answer(request: web.Request) -> web.Response:
        await request.read()
        return web.Response(body=ANSWER, content_type="application/json")

    app = web.Application()
    app.router.add_post("/bot{token}/{method}", answer)
    web.run_app(app, host="127.0.0.1", port=port, print=None, handle_signals=False)


async def wait_listening(port: int) -> None:
    for _ in range(3000):  # the child imports this module (and the bot's) first
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        except OSError:
            await asyncio.sleep(0.01)
    raise RuntimeError("the stand-in did not start")


async def main(n: int, rounds: int) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    child = multiprocessing.get_context("spawn").Process(target=stand_in, args=(port,), daemon=True)
    child.start()
    try:
        await wait_listening(port)
        settings = Settings(bot_token=TOKEN, telegram_api_url=f"http://127.0.0.1:{port}",
                            database_url="sqlite+aiosqlite:///:memory:")
        outbox_bot, plain_bot = make_bot(settings, for_outbox=True), make_bot(settings)
        api_method, params = api_call("message", -1001000000010, None, PAYLOAD)

        async def as_json() -> None:
            await call(outbox_bot, ROW, -1001000000010, None, PAYLOAD)

        async def typed_outbox() -> None:
            await outbox_bot(typed(api_method, params))

        async def typed_plain() -> None:
            await plain_bot(typed(api_method, params))

        ways = {"bot_calls.call, JSON as built (the outbox now)": as_json,
                "typed method, outbox session (the outbox before)": typed_outbox,
                "typed method, aiogram's session (baseline)": typed_plain}
        for way in ways.values():  # warm: connections, pydantic's caches
            for _ in range(200):
                await way()
        spent: dict[str, list[float]] = {name: [] for name in ways}
        for _ in range(rounds):
            for name, way in ways.items():
                began = time.process_time()
                for _ in range(n):
                    await way()
                spent[name].append((time.process_time() - began) / n * 1e6)
        base = statistics.median(spent["typed method, aiogram's session (baseline)"])
        for name, times in spent.items():
            print(f"{name:52s} {statistics.median(times):7.1f} µs per send  ratio {statistics.median(times) / base:.2f}")
        for bot in (outbox_bot, plain_bot):
            await bot.session.close()
    finally:
        child.terminate()
        child.join()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    asyncio.run(main(args.n, args.rounds))
