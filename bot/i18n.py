"""Gettext catalogs shared by handlers (through aiogram's I18n) and services.

Message ids are stable keys (``ack.created``); the words live only in
``locales/<lang>/LC_MESSAGES/messages.po`` — Chinese first, English second.
The build compiles them (``make install``); a missing or stale ``.mo`` is
compiled in memory from the ``.po`` so a fresh checkout still speaks.
"""
from __future__ import annotations

import io
from functools import lru_cache
from gettext import GNUTranslations
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"
DOMAIN = "messages"
DEFAULT_LOCALE = "zh_CN"
SUPPORTED = ("zh_CN", "en")


def normalize_locale(value: str | None, default: str = DEFAULT_LOCALE) -> str:
    """Map 'zh', 'zh-hans', 'en-US' … onto a catalog we ship."""
    if not value:
        return default
    v = value.replace("-", "_").lower()
    if v.startswith("zh"):
        return "zh_CN"
    if v.startswith("en"):
        return "en"
    return default


def person_language(chosen: str | None, telegram: str | None, default: str) -> str:
    """A person's language in private (DESIGN §5): the one chosen with /lang, else their Telegram
    app's when we ship it, else the deployment's."""
    return chosen or normalize_locale(telegram, normalize_locale(default))


def short_locale(locale: str) -> str:
    """The org file's spelling: zh or en."""
    return "zh" if locale.startswith("zh") else "en"


def _load(lang: str) -> GNUTranslations:
    folder = LOCALES_DIR / lang / "LC_MESSAGES"
    po, mo = folder / f"{DOMAIN}.po", folder / f"{DOMAIN}.mo"
    if mo.exists() and (not po.exists() or mo.stat().st_mtime >= po.stat().st_mtime):
        with mo.open("rb") as fh:
            return GNUTranslations(fh)
    with po.open("rb") as fh:
        catalog = read_po(fh, locale=lang)
    buf = io.BytesIO()
    write_mo(buf, catalog)
    buf.seek(0)
    return GNUTranslations(buf)


@lru_cache(maxsize=None)
def catalogs() -> dict[str, GNUTranslations]:
    return {lang: _load(lang) for lang in SUPPORTED}


def t(locale: str | None, key: str, /, **params: object) -> str:
    """Render message ``key`` in ``locale`` with ``str.format`` params."""
    cat = catalogs().get(normalize_locale(locale)) or catalogs()[DEFAULT_LOCALE]
    text = cat.gettext(key)
    if text == key and normalize_locale(locale) != "en":
        text = catalogs()["en"].gettext(key)
    return text.format(**params) if params else text


class Translator:
    """A locale bound to ``t`` — what a service passes around for one chat."""

    def __init__(self, locale: str | None) -> None:
        self.locale = normalize_locale(locale)

    def __call__(self, key: str, /, **params: object) -> str:
        return t(self.locale, key, **params)
