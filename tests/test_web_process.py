"""The console and Open311 as a deployment meets them: the real `python -m bot run` (long polling)
serves both on LISTEN_HOST:LISTEN_PORT; the `georeport` client reads it, a hotline's form POST
reaches the dispatch chat, and a browser-less staff member logs in with the /console link."""
from __future__ import annotations

import asyncio
import json
import re
import signal

import aiohttp
import pytest
from georeport import GeoReport

from bot.sandbox import TelegramSandbox
from tests.harness import DATA, DISPATCH_CHAT, DISPATCHER, TOKEN, fresh_database, populate
from tests.test_entrypoint import free_port, run_cli
from tests.webharness import HOTLINE_KEY


async def test_bot_run_serves_open311_and_the_console(tmp_path):
    async with TelegramSandbox(bot_token=TOKEN, bot_username="huying_bot") as sb:
        populate(sb)
        port = free_port()
        base = f"http://127.0.0.1:{port}/"
        env = {"BOT_TOKEN": TOKEN, "TELEGRAM_API_URL": sb.base_url, "DATABASE_URL": await fresh_database(tmp_path),
               "HUYING_ORG_FILE": str(DATA / "org.yaml"), "RUN_SCHEDULER": "false", "LISTEN_HOST": "127.0.0.1",
               "LISTEN_PORT": str(port), "CONSOLE_URL": base, "CONSOLE_CACHE_DIR": str(tmp_path / "cache")}
        proc = await run_cli(env, "run")
        try:
            async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
                for _ in range(1200):  # until the process answers HTTP (it migrates the database first)
                    if proc.returncode is not None:
                        pytest.fail((await proc.stderr.read()).decode())
                    try:
                        async with http.get(base + "open311/v2/discovery.json") as resp:
                            if resp.status == 200:
                                break
                    except aiohttp.ClientError:
                        pass
                    await asyncio.sleep(0.05)
                else:
                    pytest.fail("python -m bot run never answered on " + base)
                root = base + "open311/v2"
                services = await asyncio.to_thread(GeoReport(root).get_service_list)
                assert [s["service_code"] for s in services] == ["市容环卫", "供水排水", "物业与房屋"]
                xml = await asyncio.to_thread(GeoReport(root, output_format="xml").get_service_list)
                assert [s["service_code"] for s in xml] == ["市容环卫", "供水排水", "物业与房屋"]

                form = {"api_key": HOTLINE_KEY, "service_code": "供水排水", "description": "幸福路水管漏水，路面积水",
                        "lat": "31.23", "long": "121.47", "phone": "13812345678"}
                async with http.post(root + "/requests.json", data=form) as resp:
                    assert resp.status == 200
                    [made] = json.loads(await resp.text())
                card = await sb.wait_for_bot_message(DISPATCH_CHAT, contains="#" + made["service_request_id"], timeout=20)
                assert "水务局" in card["text"] and "来自12345热线" in card["text"] and "13812345678" not in card["text"]
                listed = await asyncio.to_thread(GeoReport(root).get_service_requests)
                assert [r["service_request_id"] for r in listed] == [made["service_request_id"]]
                one = await asyncio.to_thread(GeoReport(root, output_format="xml").get_service_request,
                                              made["service_request_id"])
                assert one["status"] == "open"

                await sb.user_sends(DISPATCHER, DISPATCHER, "/console")
                msg = await sb.wait_for_bot_message(DISPATCHER, contains="/login?token=", timeout=20)
                link = re.search(r"https?://\S+", msg["text"]).group(0)
                assert link.startswith(base + "login?token=")
                token = link.split("token=", 1)[1]
                async with http.post(base + "login", data={"token": token}) as resp:
                    page = await resp.text()
                    assert resp.status == 200 and "#" + made["service_request_id"] in page
        finally:
            if proc.returncode is None:
                proc.send_signal(signal.SIGINT)
            try:
                await asyncio.wait_for(proc.wait(), timeout=15)
            except TimeoutError:
                proc.kill()
                await proc.wait()
