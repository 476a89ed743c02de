"""The console in a real browser: headless Chromium (Debian's `chromium` + `chromium-driver`), driven
by Selenium through /usr/bin/chromedriver — loads the login link, sees the queue with the ticket a
resident just posted, opens it, dispatches it, and the department chat gets the card."""
from __future__ import annotations

import asyncio
import shutil

import pytest

from tests.harness import CGJ_CHAT, DISPATCHER, World
from tests.test_console import appeal, status_of
from tests.webharness import login_token, serving

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(
    not (CHROMIUM and CHROMEDRIVER),
    reason="no headless Chromium here: apt-get install chromium chromium-driver (.ci/run does)")


def start_browser():  # noqa: ANN201
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--no-proxy-server",
                "--disable-gpu", "--window-size=1280,900", "--lang=zh-CN"):
        options.add_argument(arg)
    # The system's driver, never one Selenium Manager would download.
    return webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)


@pytest.fixture
async def browser():
    driver = await asyncio.to_thread(start_browser)
    try:
        yield driver
    finally:
        await asyncio.to_thread(driver.quit)


def log_in_and_open_queue(driver, url: str) -> list[str]:  # noqa: ANN001
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(url)
    driver.find_element(By.ID, "enter").click()
    WebDriverWait(driver, 20).until(ec.presence_of_element_located((By.CSS_SELECTOR, "#queue, #queue-empty")))
    return [row.get_attribute("data-code") for row in driver.find_elements(By.CSS_SELECTOR, "#queue tbody tr")]


def open_and_dispatch(driver, code: str) -> str:  # noqa: ANN001
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    driver.find_element(By.LINK_TEXT, f"#{code}").click()
    WebDriverWait(driver, 20).until(ec.presence_of_element_located((By.ID, "do-dispatch")))
    assert "城市管理局" in driver.find_element(By.ID, "form-dispatch").text
    driver.find_element(By.ID, "do-dispatch").click()
    WebDriverWait(driver, 20).until(ec.presence_of_element_located((By.ID, "flash")))
    return driver.find_element(By.ID, "flash").text


async def test_a_dispatcher_dispatches_from_a_real_browser(world: World, browser):
    await appeal(world, "幸福小区门口垃圾堆了三天没人清运")
    token = await login_token(world, DISPATCHER)
    async with serving(world) as base:
        codes = await asyncio.to_thread(log_in_and_open_queue, browser, f"{base}login?token={token}")
        assert codes == ["2026-000001"]
        flash = await asyncio.to_thread(open_and_dispatch, browser, "2026-000001")
        assert flash == "已派单"
    card = await world.reply_from_bot(CGJ_CHAT, contains="#2026-000001")
    assert "幸福小区门口垃圾" in card["text"]
    assert world.sb.buttons(card) == [["签收", "退单"]]
    assert await status_of(world) == "DISPATCHED"
