"""`python -m bot export <form> [period] --out FILE`: an annex ledger from the command line.

The operator at the console is staff: the export carries the contact details, like one asked
for in the dispatch chat. Bad input gets one line on stderr and exit code 2.
"""
from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import make_url

from bot.context import App
from bot.domain.periods import PeriodError
from bot.i18n import Translator
from bot.org import as_deployed, load_org
from bot.preflight import database_error
from bot.services import exports, reports
from bot.settings import Settings
from storage.db import make_engine, make_sessionmaker, migrate


class ExportError(Exception):
    """One line for the operator."""


async def run_export(settings: Settings, form_word: str, period_words: list[str], out: str,
                     lang: str | None = None) -> str:
    """Write the workbook to `out`; return the caption (what was written)."""
    org = as_deployed(load_org(settings.org_file), settings.admin_ids, settings.timezone)
    tr = Translator(lang or settings.default_locale or org.locale)
    try:
        form = exports.form_of(form_word)
    except exports.UnknownForm as exc:
        raise ExportError(tr("export.unknown_form", given=exc.given)) from None
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:") \
            and not Path(url.database).exists():  # a read creates nothing: a typo would look like an empty desk
        raise ExportError(f"DATABASE_URL {url.render_as_string(hide_password=True)}: no database there "
                          f"({Path(url.database).resolve()} does not exist)")
    try:
        await migrate(settings.database_url)
    except Exception as exc:  # noqa: BLE001 — whatever the driver raises, the operator gets one line
        raise ExportError(str(database_error(settings.database_url, exc))) from None
    engine = make_engine(settings.database_url)
    try:
        app = App(settings=settings, org=org, sessions=make_sessionmaker(engine))
        async with app.sessions() as session:
            try:
                period = await reports.choose_period(session, app, period_words, app.now())
            except PeriodError as exc:
                raise ExportError(tr(exc.code, **exc.params)) from None
            _name, data, caption = await exports.workbook(session, app, form, period, tr, with_contacts=True)
    finally:
        await engine.dispose()
    try:
        Path(out).write_bytes(data)
    except OSError as exc:
        raise ExportError(f"--out {out}: {exc.strerror or exc}") from None
    return caption
