"""SQLite calls in place on the event loop, and a wait for another connection's lock off it
(storage/inline_sqlite.py): the loop goes on while the call waits, and the call then lands."""
from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
from pathlib import Path

import aiosqlite
import pytest

from storage import inline_sqlite

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def handed_over(monkeypatch):  # noqa: ANN001, ANN201
    """The calls handed to aiosqlite's worker thread (the rest ran in place)."""
    calls: list[str] = []
    original = aiosqlite.Connection._execute

    async def spy(self, fn, *args, **kwargs):  # noqa: ANN001, ANN202
        calls.append(getattr(args[0], "__name__", repr(args[0])) if args else repr(fn))
        return await original(self, fn, *args, **kwargs)

    monkeypatch.setattr(aiosqlite.Connection, "_execute", spy)
    return calls


async def test_calls_run_in_place_and_a_locked_one_waits_off_the_loop(tmp_path, handed_over):
    path = str(tmp_path / "db.sqlite3")
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("CREATE TABLE t (x)")
    conn = await inline_sqlite.creator(path, 5.0)()
    try:
        await conn.execute("INSERT INTO t VALUES (1)")
        await conn.commit()
        assert handed_over == []  # opening the connection aside, nothing went to the thread

        blocker.execute("BEGIN EXCLUSIVE")
        insert = asyncio.create_task(conn.execute("INSERT INTO t VALUES (2)"))
        await asyncio.sleep(0)  # one turn: the task runs to its first wait, the worker thread
        # The loop is ours again while the insert waits for the lock on the worker thread.
        assert not insert.done() and len(handed_over) == 1
        blocker.execute("COMMIT")
        await asyncio.wait_for(insert, 5)
        await conn.commit()
        assert [r[0] for r in blocker.execute("SELECT x FROM t ORDER BY x")] == [1, 2]
        # After the wait the connection is back to its short in-place timeout.
        cur = await conn.execute("PRAGMA busy_timeout")
        assert (await cur.fetchone())[0] == inline_sqlite.INLINE_BUSY_MS
        assert len(handed_over) == 1
    finally:
        await conn.close()
        blocker.close()


async def test_a_lock_held_past_the_patience_fails_as_locked(tmp_path):
    path = str(tmp_path / "db.sqlite3")
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("CREATE TABLE t (x)")
    conn = await inline_sqlite.creator(path, 0.05)()
    try:
        blocker.execute("BEGIN EXCLUSIVE")
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            await conn.execute("INSERT INTO t VALUES (1)")
        blocker.execute("COMMIT")
        await conn.execute("INSERT INTO t VALUES (1)")
        await conn.commit()
        assert blocker.execute("SELECT count(*) FROM t").fetchone()[0] == 1
    finally:
        await conn.close()
        blocker.close()


async def test_a_cancelled_wait_keeps_the_next_calls_off_the_connection_until_it_ends(tmp_path, handed_over):
    # A task waiting for a lock is cancelled (a shutdown); its call still runs on the worker thread.
    # What comes next — the close a cancelled session makes — must queue behind it there, not
    # touch the connection from the loop's thread at the same time (that froze the loop for the
    # whole wait and then crashed the process).
    path = str(tmp_path / "db.sqlite3")
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("CREATE TABLE t (x)")
    conn = await inline_sqlite.creator(path, 5.0)()
    blocker.execute("BEGIN EXCLUSIVE")
    insert = asyncio.create_task(conn.execute("INSERT INTO t VALUES (1)"))
    await asyncio.sleep(0)  # one turn: the insert is on the worker thread, waiting for the lock
    insert.cancel()
    with pytest.raises(asyncio.CancelledError):
        await insert
    closing = asyncio.create_task(conn.close())
    await asyncio.sleep(0)  # one turn: the close is queued behind the insert, the loop is free
    assert not closing.done() and len(handed_over) == 2
    blocker.execute("COMMIT")
    await asyncio.wait_for(closing, 5)
    blocker.close()


def test_an_engine_left_undisposed_does_not_hold_the_process(tmp_path):
    # A start-up that fails before the engine is disposed must end the process (a restart policy
    # takes over), not leave it waiting for the connection's worker thread.
    script = (
        "import asyncio, sys\n"
        f"sys.path.insert(0, {str(ROOT)!r})\n"
        "from sqlalchemy import text\n"
        "from storage.db import make_engine\n"
        "async def main():\n"
        f"    engine = make_engine('sqlite+aiosqlite:///{tmp_path / 'db.sqlite3'}')\n"
        "    async with engine.connect() as conn:\n"
        "        await conn.execute(text('SELECT 1'))\n"
        "    raise SystemExit(3)\n"
        "asyncio.run(main())\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=60)
    assert done.returncode == 3, done.stderr.decode()[-500:]
