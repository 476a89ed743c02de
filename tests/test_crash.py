"""The real `python -m bot run` process, stopped again and again during a burst, loses nothing.

SIGKILL may repeat only what was caught mid-send (an outbox row sent but not yet marked);
SIGTERM repeats nothing: the in-flight updates finish or stay in the inbox, the outbox
finishes the row it is sending, and the process exits 0.
"""
from __future__ import annotations

import signal

import pytest

from bot.outbox import MAX_IN_FLIGHT
from bot.sandbox import TelegramSandbox
from tests.burst import CrashRun
from tests.harness import TOKEN, fresh_database, populate


@pytest.mark.timeout(1500)
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
async def test_a_burst_survives_three_stops_and_restarts(tmp_path, sig):
    async with TelegramSandbox(bot_token=TOKEN, bot_username="huying_bot", privacy_mode=False) as sb:
        populate(sb)
        run = CrashRun(sb, tmp_path, await fresh_database(tmp_path), sig, appeals=1000, kills=3)
        result = await run.run()
    print(result.line(), "exit codes:", run.exit_codes)
    assert (result.appeals, result.no_ticket, result.two_tickets, result.missing_acks) == (1000, 0, 0, 0), \
        result.line()
    if sig == signal.SIGTERM:
        assert result.duplicate_acks == 0, result.line()
        assert run.exit_codes == [0, 0, 0, 0]
    else:
        # Only rows caught mid-send repeat: at most what the outbox sends at once, per kill.
        assert result.duplicate_acks <= run.kills * MAX_IN_FLIGHT, result.line()
        assert run.exit_codes[:3] == [-signal.SIGKILL] * 3 and run.exit_codes[3] == 0
