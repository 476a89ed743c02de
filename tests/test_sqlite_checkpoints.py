"""SQLite's WAL checkpoints run on a thread of their own after a commit, never inside the commit on
the event loop (storage/sqlite_checkpoints.py), through the engine the bot itself makes."""
from __future__ import annotations

import asyncio
import os
import threading

from sqlalchemy import text

from storage import sqlite_checkpoints
from storage.db import make_engine

PAGES = 3_000  # three times SQLite's own threshold (1000 pages), well under the backstop


async def write_pages(conn, first: int) -> None:  # noqa: ANN001
    """About PAGES new pages of 4 KB in one transaction, committed."""
    await conn.execute(text("WITH RECURSIVE n(i) AS (SELECT :a UNION ALL SELECT i + 1 FROM n WHERE i < :b) "
                            "INSERT INTO blobs SELECT i, randomblob(4000) FROM n"), {"a": first, "b": first + PAGES - 1})
    await conn.commit()


async def test_a_commit_leaves_the_checkpoint_to_a_thread(tmp_path):
    path = tmp_path / "db.sqlite3"
    engine = make_engine(f"sqlite+aiosqlite:///{path}")
    clock = [100.0]
    try:
        async with engine.connect() as conn:
            assert (await conn.execute(text("PRAGMA wal_autocheckpoint"))).scalar() == sqlite_checkpoints.BACKSTOP_PAGES
            checkpoints = (await conn.get_raw_connection()).driver_connection.checkpoints
            checkpoints.clock = lambda: clock[0]
            await conn.execute(text("CREATE TABLE blobs (id INTEGER PRIMARY KEY, body BLOB)"))
            await conn.commit()  # the first commit starts a checkpoint at once
            await asyncio.to_thread(checkpoints.wait)
            first = checkpoints.last
            assert first is not None and first.thread != threading.get_ident()
            size = os.path.getsize(path)

            # Within `every` of that start: no checkpoint now, and the commit made none itself
            # although the log passed SQLite's default threshold three times over.
            await write_pages(conn, 1)
            await asyncio.to_thread(checkpoints.wait)
            assert checkpoints.last is first
            assert os.path.getsize(path) == size
            assert os.path.getsize(f"{path}-wal") > PAGES * 4096

            # Later, the next commit starts one, on another thread, and it copies the whole log.
            clock[0] += sqlite_checkpoints.EVERY
            await write_pages(conn, PAGES + 1)
            await asyncio.to_thread(checkpoints.wait)
            done = checkpoints.last
            assert done is not first and done.thread != threading.get_ident()
            assert (done.busy, done.copied_pages) == (False, done.log_pages)
            assert done.log_pages > 2 * PAGES
            assert os.path.getsize(path) > 2 * PAGES * 4096
            assert (await conn.execute(text("SELECT count(*) FROM blobs"))).scalar() == 2 * PAGES

            # The log was copied whole: the next commit starts it from the top, and its file,
            # grown past 24 MB by the two big commits, is cut back to the limit.
            assert os.path.getsize(f"{path}-wal") > 2 * PAGES * 4096 > sqlite_checkpoints.LOG_LIMIT_BYTES
            await conn.execute(text("INSERT INTO blobs VALUES (0, x'00')"))
            await conn.commit()
            assert os.path.getsize(f"{path}-wal") == sqlite_checkpoints.LOG_LIMIT_BYTES
    finally:
        await engine.dispose()


async def test_a_failed_checkpoint_is_logged_and_the_next_commit_tries_again(tmp_path, caplog):
    path = tmp_path / "db.sqlite3"
    engine = make_engine(f"sqlite+aiosqlite:///{path}")
    clock = [100.0]
    try:
        async with engine.connect() as conn:
            checkpoints = (await conn.get_raw_connection()).driver_connection.checkpoints
            checkpoints.clock = lambda: clock[0]
            real_path, checkpoints.path = checkpoints.path, str(tmp_path / "no such dir" / "db.sqlite3")
            await conn.execute(text("CREATE TABLE blobs (id INTEGER PRIMARY KEY, body BLOB)"))
            await conn.commit()
            await asyncio.to_thread(checkpoints.wait)
            assert checkpoints.last is None
            assert "background WAL checkpoint" in caplog.text

            checkpoints.path, clock[0] = real_path, clock[0] + sqlite_checkpoints.EVERY
            await write_pages(conn, 1)
            await asyncio.to_thread(checkpoints.wait)
            assert checkpoints.last is not None and checkpoints.last.copied_pages == checkpoints.last.log_pages > PAGES
    finally:
        await engine.dispose()
