"""`python -m bot run | check | demo | migrate` — one clear line on bad settings, never a traceback."""
from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from pydantic import ValidationError

from bot.app import migrate_or_explain, run_polling, run_webhook
from bot.check import run_check
from bot.demo import run_demo
from bot.export_cli import ExportError, run_export
from bot.org import OrgFileError, load_org
from bot.settings import Settings, SettingsError


def _settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        err = exc.errors()[0]
        name = str(err["loc"][0]).upper() if err["loc"] else "settings"
        msg = err["msg"].removeprefix("Value error, ")
        raise SettingsError(msg if msg.startswith(name) else f"{name}: {msg}") from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot", description="Huying (呼应) appeals desk bot")
    sub = parser.add_subparsers(dest="cmd", required=True)
    sub.add_parser("run", help="run the bot (long polling; webhook when WEBHOOK_URL is set)")
    demo = sub.add_parser("demo", help="play the whole workflow offline against the built-in sandbox")
    demo.add_argument("--quiet", action="store_true", help="print only the transcript")
    sub.add_parser("migrate", help="bring the database schema up to date")
    sub.add_parser("check", help="check settings, org file, database, the bot's privacy mode and every bound chat")
    export = sub.add_parser("export", help="write an annex ledger (.xlsx) of a period")
    export.add_argument("form", help="ledger | transfers | feedback | satisfaction | unsatisfied")
    export.add_argument("period", nargs="*", help="2026-11, 2026-Q4, 2026-H2, 2026, or month/quarter/half/year")
    export.add_argument("--out", required=True, help="the .xlsx file to write")
    export.add_argument("--lang", choices=("zh", "en"), help="language of the headings (default: the org's)")
    args = parser.parse_args(argv)
    try:
        settings = _settings()
        level = "WARNING" if args.cmd in ("demo", "export") else settings.log_level.upper()
        logging.basicConfig(level=level,
                            format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)  # seven lines of noise per start
        if args.cmd == "demo":
            return asyncio.run(run_demo(quiet=args.quiet))
        if args.cmd == "export":
            try:
                print(asyncio.run(run_export(settings, args.form, args.period, args.out, args.lang)))
            except ExportError as exc:
                print(f"huying: {exc}", file=sys.stderr)
                return 2
            return 0
        if args.cmd == "check":
            return asyncio.run(run_check(settings))
        if args.cmd == "migrate":
            asyncio.run(migrate_or_explain(settings.database_url))
            print("database is up to date")
            return 0
        settings.require_token()
        load_org(settings.org_file)  # fail early, in one line
        asyncio.run(run_webhook(settings) if settings.webhook_url else run_polling(settings))
        return 0
    except (SettingsError, OrgFileError) as exc:
        print(f"huying: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main())
