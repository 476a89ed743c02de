"""Engine and session setup; migrations run through Alembic at start-up."""
from __future__ import annotations

import asyncio
import logging
import sqlite3
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError, StatementError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from storage import held_rows, inline_sqlite, sqlite_checkpoints
from storage.directory_cache import DirectoryCache

log = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).with_name("migrations")
BUSY_SECONDS = 30.0  # how long a SQLite call waits for another connection's lock


def _prepare_sqlite(url: str) -> None:
    db = make_url(url).database
    if db and db != ":memory:":
        Path(db).parent.mkdir(parents=True, exist_ok=True)
        # Open it once with the standard driver: a file that cannot be opened fails here, cleanly,
        # rather than inside aiosqlite's worker thread after Alembic's event loop has gone.
        sqlite3.connect(db).close()


def _sqlite_path(url: str) -> str:
    return make_url(url).database or ":memory:"


def make_engine(url: str, *, echo: bool = False) -> AsyncEngine:
    if url.startswith("sqlite"):
        _prepare_sqlite(url)
        # One connection: SQLite lets one writer in at a time, and every transaction here is a
        # writer (BEGIN IMMEDIATE below). Waiting for the pool's one connection is an asyncio
        # wait that ends the moment it is free; waiting on SQLite's lock is its busy handler,
        # which sleeps in steps of up to 100 ms and left the lock idle between holders.
        # Calls run on the event loop's thread; a wait for another connection's lock goes to
        # aiosqlite's worker thread, up to BUSY_SECONDS (storage/inline_sqlite.py says why).
        engine = create_async_engine(url, echo=echo, pool_size=1, max_overflow=0, pool_timeout=30,
                                     async_creator=inline_sqlite.creator(_sqlite_path(url), BUSY_SECONDS))

        @event.listens_for(engine.sync_engine, "connect")
        def _on_connect(dbapi_conn, _record):  # noqa: ANN001
            # Let SQLAlchemy, not the driver, decide when transactions begin.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute(f"PRAGMA busy_timeout={inline_sqlite.INLINE_BUSY_MS}")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            # 32 MB of pages (the default is 2 MB): a scan batch touches a few thousand pages of a
            # big tickets table three times (claim, read, write back) and should read them once.
            cur.execute("PRAGMA cache_size=-32768")
            # Checkpoints run on a thread of their own after commits; this one is the backstop.
            cur.execute(f"PRAGMA wal_autocheckpoint={sqlite_checkpoints.BACKSTOP_PAGES}")
            cur.execute(f"PRAGMA journal_size_limit={sqlite_checkpoints.LOG_LIMIT_BYTES}")
            cur.close()

        @event.listens_for(engine.sync_engine, "begin")
        def _on_begin(conn):  # noqa: ANN001
            # IMMEDIATE takes the write lock up front: a deferred read that later
            # upgrades to a write fails at once with "database is locked" instead of waiting.
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    return create_async_engine(url, echo=echo, pool_pre_ping=True)


def make_sessionmaker(engine: AsyncEngine, *, cache: bool = True) -> async_sessionmaker[AsyncSession]:
    """Sessions of one App; they share its copy of the directory (storage/directory_cache.py)."""
    info = {"directory": DirectoryCache()} if cache else {}
    return async_sessionmaker(engine, expire_on_commit=False, info=info)


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    cfg.attributes["configure_logger"] = False
    return cfg


def _upgrade(url: str) -> None:
    command.upgrade(alembic_config(url), "head")


async def migrate(url: str) -> None:
    """Bring the schema to the newest revision (idempotent)."""
    if url.startswith("sqlite"):
        _prepare_sqlite(url)
    # Alembic's env runs its own event loop; keep it off ours.
    await asyncio.to_thread(_upgrade, url)


def _cause(exc: BaseException) -> BaseException:
    # A failure writing the held rows says where it surfaced; its cause says what it was (a busy
    # database is as busy for them as for any statement).
    while isinstance(exc, held_rows.HeldWriteFailed) and exc.__cause__ is not None:
        exc = exc.__cause__
    return exc


def may_pass(exc: BaseException) -> bool:
    """Database trouble that may pass by itself: busy, connection lost, no free connection in
    the pool.  (A constraint violation or a bad statement would fail the same way again.)"""
    exc = _cause(exc)
    return is_transient(exc) or isinstance(exc, (OperationalError, InterfaceError, PoolTimeout)) or _connection_lost(exc)


# SQLSTATE classes and codes of a connection that went away or a server not taking connections yet:
# 08 connection exception, 53 insufficient resources, 57P01–57P03 shutdown / crash / starting up.
_CONNECTION_STATES = ("08", "53", "57P01", "57P02", "57P03")
_CONNECTION_WORDS = ("connection was closed", "connection is closed", "terminating connection",
                     "the database system is starting up", "the database system is shutting down",
                     "not currently accepting connections", "server closed the connection")


def _connection_lost(exc: BaseException) -> bool:
    """asyncpg reports a connection PostgreSQL closed (a restart, a failover, a proxy's idle timeout)
    as a plain DBAPIError: the update is tried again on a fresh connection, never parked as dead."""
    if not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    orig = getattr(exc, "orig", None)
    code = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    if isinstance(code, str) and code.startswith(_CONNECTION_STATES):
        return True
    text = str(exc).lower()
    return any(w in text for w in _CONNECTION_WORDS)


def refuses_the_rows(exc: BaseException) -> bool:
    """The database refuses these rows as such — a value out of range, characters a column cannot
    hold, a constraint — and would take others: trying them again fails the same way. (PostgreSQL
    says so by SQLSTATE class 22 or 23; SQLite by a constraint, or the driver by refusing a value.)"""
    exc = _cause(exc)
    if isinstance(exc, IntegrityError):
        return True
    orig = getattr(exc, "orig", None)
    code = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    if isinstance(code, str) and code[:2] in ("22", "23"):
        return True
    return (isinstance(exc, StatementError) and not isinstance(exc, DBAPIError)
            and isinstance(orig, (OverflowError, ValueError, TypeError)))


def is_transient(exc: BaseException) -> bool:
    """A database that is briefly busy (SQLite "database is locked", a PostgreSQL serialization
    failure or deadlock): the whole update may simply be tried again."""
    exc = _cause(exc)
    text = str(exc).lower()
    if isinstance(exc, OperationalError) and "locked" in text:
        return True
    return isinstance(exc, DBAPIError) and ("deadlock detected" in text or "could not serialize" in text)
