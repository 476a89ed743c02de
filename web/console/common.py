"""What every console page shares: who is asking, their language, rendering, and clear error pages."""
from __future__ import annotations

import functools
import hmac
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urlencode, urlsplit

import aiohttp_jinja2
from aiogram import Bot
from aiohttp import web

from bot.context import App
from bot.domain.lifecycle import TransitionError
from bot.domain.rating import NO_REASON, REASONS
from bot.i18n import Translator, normalize_locale
from bot.services import console_auth
from bot.services.console_auth import LoginRefused, Staff
from bot.services.console_views import NotFound
from web.transactions import run_op

log = logging.getLogger(__name__)
JINJA_KEY = web.AppKey("huying_console_jinja", object)
COOKIE, LANG_COOKIE = "huying_console", "huying_lang"
SCORES = {4: "rate.very", 3: "rate.fairly", 2: "rate.basically", 1: "rate.unsatisfied"}


@dataclass
class Console:
    """The console's dependencies, shared by its handlers."""

    app: App
    bot: Bot
    nav: list[dict] = field(default_factory=list)  # pages beyond the queue: {path, key}

    @property
    def root(self) -> str:
        """The path prefix of CONSOLE_URL (a proxy may serve the console below a path)."""
        return urlsplit(console_auth.console_base(self.app)).path.rstrip("/")

    @property
    def secure(self) -> bool:
        return console_auth.console_base(self.app).startswith("https://")

    def same_origin(self, request: web.Request) -> bool:
        """A browser's POST from our own pages (or one that names no origin: not a browser's).
        Another site's form must not log a person in to a session of someone else's link."""
        origin = request.headers.get("Origin")
        if origin is None:
            return True
        base = urlsplit(console_auth.console_base(self.app))
        return origin in (f"{base.scheme}://{base.netloc}", f"{request.scheme}://{request.host}")


@dataclass
class Visit:
    """One request at the console: the person, their CSRF token and language."""

    staff: Staff | None
    csrf: str
    tr: Translator


class BadInput(Exception):
    """A filter or form value the console cannot use; `key` names the message shown."""

    def __init__(self, key: str, **params: object) -> None:
        super().__init__(key)
        self.key, self.params = key, params


def translator(console: Console, request: web.Request, staff: Staff | None = None) -> Translator:
    wanted = request.query.get("lang") or request.cookies.get(LANG_COOKIE)
    if wanted in ("zh", "en"):
        return Translator(normalize_locale(wanted))
    return Translator((staff.locale if staff else None) or console.app.default_locale)


async def visit(console: Console, request: web.Request) -> Visit:
    """The signed-in staff member, or LoginRefused."""
    cookie = request.cookies.get(COOKIE)
    staff, csrf = await run_op(console.app, lambda s: console_auth.staff_for(s, console.app, cookie), write=False)
    return Visit(staff=staff, csrf=csrf, tr=translator(console, request, staff))


def check_csrf(v: Visit, form: dict) -> None:  # noqa: ANN001
    sent = form.get("csrf") or ""
    if not isinstance(sent, str) or not sent or not hmac.compare_digest(sent.encode(), v.csrf.encode()):
        raise PermissionError("csrf")


def role_label(tr: Translator, staff: Staff) -> str:
    r = staff.roles
    if r.admin:
        return tr("console.role_admin")
    if r.dispatcher:
        return tr("console.role_dispatcher")
    if r.leader:
        return tr("console.role_leader")
    return tr("console.role_handler")


def render(console: Console, request: web.Request, v: Visit, template: str, status: int = 200,
           **context: object) -> web.Response:
    tr = v.tr
    tz = console.app.tz

    def local(when: datetime | None) -> str:
        return when.astimezone(tz).strftime("%Y-%m-%d %H:%M") if when else ""

    def channel_label(name: str) -> str:
        return tr("console.channel_telegram") if name == "telegram" else name

    def score_label(score: int | None, awaited: bool = False) -> str:
        """A level in words; none given is 未评价 once the round closed without it, 待评价 while it may come."""
        if score in SCORES:
            return tr(SCORES[score])
        return tr("console.rating_awaited") if awaited else tr("console.not_rated")

    def reason_label(reason: str | None) -> str:
        """A rating's reason code in words (办理太慢); any other reason (a 退单's) as written."""
        return tr(f"rate.reason.{reason}") if reason in (*REASONS, NO_REASON) else (reason or "")

    other = "en" if tr.locale.startswith("zh") else "zh"
    query = {k: v for k, v in request.query.items() if k not in ("lang", "msg", "err")}
    base = dict(tr=tr, root=console.root, staff=v.staff, csrf=v.csrf, local=local, channel_label=channel_label,
                score_label=score_label, reason_label=reason_label, role_label=role_label(tr, v.staff) if v.staff else "",
                lang_query=urlencode({**query, "lang": other}), refresh=None, flash=None, flash_error=False,
                extra_nav=console_nav(console), extra_facts=[], extra_actions=[], extra_sections=[])
    flash = request.query.get("msg")
    if flash and flash.startswith(("console.", "done.", "error.", "merge.", "reject.", "dispatch.")):
        base.update(flash=tr(flash), flash_error=request.query.get("err") == "1")
    base.update(context)
    response = aiohttp_jinja2.render_template(template, request, base, app_key=JINJA_KEY, status=status)
    if request.query.get("lang") in ("zh", "en"):
        response.set_cookie(LANG_COOKIE, request.query["lang"], max_age=365 * 86400, httponly=True,
                            samesite="Lax", path=console.root or "/", secure=console.secure)
    return response


def console_nav(console: Console) -> list[dict]:
    """Pages beyond the queue (rates, hotspots, exports) register here when their features exist."""
    return list(console.nav)


def message_page(console: Console, request: web.Request, status: int, key: str, v: Visit | None = None,
                 back: str | None = None, **params: object) -> web.Response:
    v = v or Visit(staff=None, csrf="", tr=translator(console, request))
    return render(console, request, v, "message.html", status=status, heading=v.tr(f"{key}.title"),
                  text=v.tr(f"{key}.text", **params), back=back)


Handler = Callable[[Console, web.Request, Visit], Awaitable[web.StreamResponse]]


def page(console: Console, handler: Handler, *, post: bool = False) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """Wrap a console handler: sign-in, CSRF on POST, and a clear page for every failure."""

    @functools.wraps(handler)
    async def wrapped(request: web.Request) -> web.StreamResponse:
        v: Visit | None = None
        try:
            v = await visit(console, request)
            if post:
                check_csrf(v, dict(await request.post()))
            return await handler(console, request, v)
        except LoginRefused as exc:
            return message_page(console, request, 401 if exc.reason != "console.not_staff" else 403, exc.reason, v)
        except PermissionError:
            return message_page(console, request, 403, "console.csrf", v, back=request.headers.get("Referer"))
        except NotFound:
            return message_page(console, request, 404, "console.not_found", v, back=f"{console.root}/queue")
        except BadInput as exc:
            return message_page(console, request, 400, exc.key, v, back=f"{console.root}/queue", **exc.params)
        except web.HTTPException:
            raise
        except TransitionError as exc:  # a refusal that did not go through a form's redirect
            tr = v.tr if v else translator(console, request)
            return message_page(console, request, 409, "console.refused", v, reason=tr(exc.code, **getattr(
                exc, "params", {})))
        except Exception:  # noqa: BLE001 — the person gets a clear page, the log gets the story
            log.exception("console: %s %s failed", request.method, request.path)
            return message_page(console, request, 500, "console.failed", v)

    return wrapped
