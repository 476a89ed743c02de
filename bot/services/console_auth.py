"""Console login through Telegram itself (DESIGN §9): one-time links, sessions, CSRF, staff roles.

A link is `user.issued.nonce.signature` (HMAC-SHA256 under a key derived from the bot token:
only this deployment can mint one). It is valid for LINK_TTL and single use: opening it
writes its nonce into `console_logins`, which refuses a second writer. It opens a session
whose random secret rides in an HttpOnly cookie; the table keeps only the secret's SHA-256.
Roles are read again on every request, so revoking a role closes the console at once.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy.ext.asyncio import AsyncSession

from bot.context import App
from bot.i18n import person_language
from bot.services.access import Roles, roles_of
from storage import console as store
from storage import directory

LINK_TTL = timedelta(minutes=10)
SESSION_TTL = timedelta(hours=12)  # one shift at the desk


class LoginRefused(Exception):
    """The link or cookie does not open the console; `reason` is a message key."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class Staff:
    """Who is at the console and what they may see."""

    roles: Roles
    name: str
    locale: str | None

    @property
    def user_id(self) -> int:
        return int(self.roles.user_id or 0)

    @property
    def sees_all(self) -> bool:
        return self.roles.admin or self.roles.dispatcher or self.roles.leader

    @property
    def departments(self) -> set[str] | None:
        """None: every department; else the departments whose tickets this handler may see."""
        return None if self.sees_all else set(self.roles.handler_of)

    def may_see(self, depts: set[str]) -> bool:
        return self.sees_all or bool(self.roles.handler_of & depts)


def is_staff(roles: Roles) -> bool:
    return roles.admin or roles.dispatcher or roles.leader or bool(roles.handler_of)


def _key(app: App) -> bytes:
    return hashlib.sha256(b"huying-console-link\0" + app.settings.bot_token.encode()).digest()


def _sign(app: App, payload: str) -> str:
    mac = hmac.new(_key(app), payload.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")


def mint_link_token(app: App, user_id: int, now: datetime) -> str:
    payload = f"{user_id}.{int(now.timestamp())}.{secrets.token_urlsafe(16)}"
    return f"{payload}.{_sign(app, payload)}"


def read_link_token(app: App, token: str, now: datetime) -> tuple[int, str]:
    """Check signature and age; (user id, nonce). Refuses forged, malformed and expired links."""
    parts = (token or "").split(".")
    if len(parts) != 4:
        raise LoginRefused("console.link_bad")
    payload, signature = ".".join(parts[:3]), parts[3]
    if not hmac.compare_digest(_sign(app, payload), signature):
        raise LoginRefused("console.link_bad")
    try:
        user_id, issued = int(parts[0]), datetime.fromtimestamp(int(parts[1]), tz=timezone.utc)
    except ValueError:
        raise LoginRefused("console.link_bad") from None
    if not -timedelta(minutes=1) <= now - issued <= LINK_TTL:  # a minute of clock skew
        raise LoginRefused("console.link_expired")
    return user_id, parts[2]


def console_base(app: App) -> str:
    """CONSOLE_URL, or this machine's listening address when it is not set (a local desk)."""
    if app.settings.console_url:
        return app.settings.console_url
    host = app.settings.listen_host
    host = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    return f"http://{host}:{app.settings.listen_port}/"


async def login_link(session: AsyncSession, app: App, user_id: int) -> str | None:
    """The link /console sends in private; None for someone who is not staff."""
    if not is_staff(await roles_of(session, user_id)):
        return None
    return f"{console_base(app)}login?token={mint_link_token(app, user_id, app.now())}"


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


async def open_session(session: AsyncSession, app: App, token: str) -> tuple[str, datetime]:
    """Spend a link; the cookie's secret and when it expires. Nothing is written when refused."""
    now = app.now()
    user_id, nonce = read_link_token(app, token, now)
    if not is_staff(await roles_of(session, user_id)):
        raise LoginRefused("console.not_staff")
    if not await store.use_login(session, nonce, user_id, now):
        raise LoginRefused("console.link_used")
    secret, expires = secrets.token_urlsafe(32), now + SESSION_TTL
    await store.open_session(session, sid_hash=_hash(secret), user_id=user_id, csrf=secrets.token_urlsafe(24),
                             now=now, expires_at=expires, forget_logins_before=now - 2 * LINK_TTL)
    return secret, expires


async def staff_for(session: AsyncSession, app: App, cookie: str | None) -> tuple[Staff, str]:
    """The staff member a session cookie belongs to, with the session's CSRF token."""
    if not cookie:
        raise LoginRefused("console.login_needed")
    row = await store.find_session(session, _hash(cookie), app.now())
    if row is None:
        raise LoginRefused("console.session_gone")
    roles = await roles_of(session, row.user_id)
    if not is_staff(roles):
        raise LoginRefused("console.not_staff")
    person = await directory.person(session, row.user_id)
    name = (person.full_name or person.username) if person else None
    # The console speaks as the bot does to them in private (their /lang, else their Telegram app's).
    locale = person_language(person.locale, person.language_code, app.default_locale) if person else None
    return Staff(roles=roles, name=name or str(row.user_id), locale=locale), row.csrf


async def close_session(session: AsyncSession, app: App, cookie: str | None) -> None:
    if cookie:
        await store.close_session(session, _hash(cookie), app.now())
