"""`python -m bot check`: the doctor a district's IT officer runs before going live.

Settings, the org file, the database, the bot's identity and privacy mode, and every bound
chat (is the bot in it, is it an admin) in one readable table. Exit code 0 when the bot is
ready to serve, 1 when something listed needs fixing (settings it cannot even read exit 2,
in one line, from `bot.__main__`).
"""
from __future__ import annotations

from pathlib import Path

import sys
from datetime import datetime
from zoneinfo import ZoneInfo
import unicodedata
from dataclasses import dataclass, field
from typing import TextIO

from aiogram.exceptions import TelegramAPIError, TelegramNetworkError
from aiogram.types import User
from sqlalchemy.engine import make_url

from bot.client import make_bot
from bot.domain.calendar import WorkCalendar
from bot.org import OrgFile, OrgFileError, as_deployed, chat_conflicts, chat_uses, example_keys, load_org
from bot.preflight import (
    ChatProbe,
    api_error,
    api_url,
    database_error,
    no_admin_warning,
    privacy_warning,
    probe_chat,
    webhook_path_warning,
)
from bot.settings import Settings, SettingsError
from storage import health
from storage.db import make_engine, make_sessionmaker

OK, WARN, PROBLEM = "ok", "warn", "PROBLEM"


@dataclass
class Report:
    lines: list[tuple[str, str, str]] = field(default_factory=list)  # (state, what, detail)
    chats: list[ChatProbe] = field(default_factory=list)
    reads_all: bool = True

    def add(self, state: str, what: str, detail: str) -> None:
        self.lines.append((state, what, detail))

    @property
    def problems(self) -> int:
        return sum(state == PROBLEM for state, _, _ in self.lines) + sum(
            c.problem(self.reads_all) is not None for c in self.chats)


@dataclass
class Bound:
    """What the database says of the deployment: its bound chats, its admins, and the groups that
    became supergroups (old id → new id)."""

    chats: list[tuple[int, str, str]]
    admins: list[int]
    moved: dict[int, int]


async def _database(settings: Settings, report: Report) -> Bound | None:
    """Reachability and schema; the chats bound in the database — a department's chat too when the
    bot lost it (a send was refused), which is when it most needs looking at — and its admins
    (None when it has no schema yet)."""
    url = make_url(settings.database_url)
    shown = url.render_as_string(hide_password=True)
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:") \
            and not Path(url.database).exists():
        # The doctor changes nothing: opening the file would create it (and its folders).
        where = Path(url.database).resolve().parent
        state = "exists" if where.is_dir() else "does not exist yet either"
        report.add(OK, "database", f"{shown}: no file yet (`run` creates it; its folder {where} {state})")
        return None
    try:
        engine = make_engine(settings.database_url)
    except Exception as exc:  # noqa: BLE001 — any failure to open is reported, not raised
        report.add(PROBLEM, "database", str(database_error(settings.database_url, exc)))
        return None
    try:
        async with make_sessionmaker(engine)() as session:
            await health.ping(session)
            revision = await health.schema_revision(session)
            if revision is None:
                report.add(OK, "database", f"{shown}: reachable, empty (`run` creates the schema)")
                return None
            report.add(OK, "database", f"{shown}: reachable, schema at {revision}")
            moved = await health.migrated_chats(session)
            chats = [(moved.get(cid, cid), kind, bound) for cid, kind, bound in await health.bound_chats(session)]
            listed = {c[0] for c in chats}
            chats += [c for c in await health.department_chats(session) if c[0] not in listed]
            return Bound(chats, await health.admin_ids(session), moved)
    except Exception as exc:  # noqa: BLE001
        report.add(PROBLEM, "database", str(database_error(settings.database_url, exc)))
        return None
    finally:
        await engine.dispose()


async def _telegram(settings: Settings, report: Report, chats: list[tuple[int, str, str]]) -> None:
    bot = make_bot(settings)
    try:
        try:
            me: User = await bot.get_me()
        except TelegramAPIError as exc:
            report.add(PROBLEM, "bot", str(api_error(settings, exc)))
            return
        report.add(OK, "bot", f"@{me.username} (id {me.id}) at {api_url(settings)}")
        report.reads_all = bool(me.can_read_all_group_messages)
        warning = privacy_warning(me)
        report.add(WARN if warning else OK, "privacy",
                   warning or "privacy mode is off: the bot reads every message in its groups")
        for chat_id, kind, bound_to in chats:
            try:
                report.chats.append(await probe_chat(bot, me.id, chat_id, kind, bound_to))
            except TelegramNetworkError as exc:
                report.add(PROBLEM, "bot", str(api_error(settings, exc)))
                return
    finally:
        await bot.session.close()


async def run_check(settings: Settings, out: TextIO = sys.stdout) -> int:
    report = Report()
    report.add(OK, "settings", "read from the environment and .env"
                               + (f"; HUYING_ADMINS {settings.admins}" if settings.admins else ""))
    org: OrgFile | None = None
    try:
        org = as_deployed(load_org(settings.org_file), settings.admin_ids, settings.timezone)
        report.add(OK, "org file", f"{settings.org_file}: {len(org.areas)} areas, {len(org.departments)} departments, "
                                   f"{len(org.catalog)} catalogue rows; admins: {', '.join(map(str, org.admins)) or 'none'}")
        for conflict in chat_conflicts(org):
            report.add(PROBLEM, "org chats", conflict)
        for key_problem in example_keys(org):
            report.add(PROBLEM, "channels", key_problem)
        calendar = WorkCalendar.from_org(org.holidays, org.timezone)
        this_year = datetime.now(ZoneInfo(org.timezone)).year
        for year in (this_year, this_year + 1):  # next year's deadlines are set weeks before it starts
            if gap := calendar.holiday_gap(year):
                report.add(WARN, f"holidays {year}", gap)
    except OrgFileError as exc:
        report.add(PROBLEM, "org file", str(exc))
    if warning := webhook_path_warning(settings):
        report.add(WARN, "webhook", warning)
    bound = await _database(settings, report) or Bound([], [], {})
    db_chats, db_admins = bound.chats, bound.admins
    # Admins granted with /role count as much as the org file's (a first run adds them so).
    if org is not None and (warning := no_admin_warning(sorted({*org.admins, *db_admins}))):
        report.add(PROBLEM, "admins", warning)
    chats: dict[int, tuple[int, str, str]] = {}
    for cid, kind, code in chat_uses(org) if org else []:
        if cid in bound.moved:  # the bot followed the group to its supergroup; the file names the old id
            report.add(WARN, "org chats", f"chat {cid} ({kind} {code}) became the supergroup {bound.moved[cid]}: "
                                          "write the new id in the org file")
            cid = bound.moved[cid]
        chats[cid] = (cid, kind, code)
    chats.update({c[0]: c for c in db_chats})
    try:
        token_ok = bool(settings.require_token())
    except SettingsError as exc:
        report.add(PROBLEM, "bot", str(exc))
        token_ok = False
    if token_ok:
        await _telegram(settings, report, sorted(chats.values(), key=lambda c: (c[1], abs(c[0]))))
    out.write(render(report))
    return 1 if report.problems else 0


def _width(s: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in s)


def _pad(s: str, width: int) -> str:
    return s + " " * max(0, width - _width(s))


def _table(rows: list[list[str]]) -> list[str]:
    widths = [max(_width(r[i]) for r in rows) for i in range(len(rows[0]))]
    return ["  " + "  ".join(_pad(c, w) for c, w in zip(r[:-1], widths)) + "  " + r[-1] for r in rows]


def render(report: Report) -> str:
    out = ["Huying check", ""]
    out += _table([[state, what, detail] for state, what, detail in report.lines])
    if report.chats:
        rows = [["chat id", "kind", "bound to", "title", "bot member", "bot admin", "verdict"]]
        for c in report.chats:
            problem = c.problem(report.reads_all)
            rows.append([str(c.chat_id), c.kind, c.bound_to or "-", c.title or "?",
                         "yes" if c.member else "no", "yes" if c.admin else "no",
                         f"{PROBLEM}: {problem}" if problem else OK])
        out += ["", *_table(rows)]
    n = report.problems
    out += ["", "ready: nothing to fix" if n == 0 else f"{n} problem{'s' if n > 1 else ''} to fix before going live"]
    return "\n".join(out) + "\n"
