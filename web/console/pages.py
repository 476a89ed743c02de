"""The console's pages: login, the queue, a ticket (with its photos) and the actions on it."""
from __future__ import annotations

import logging
from pathlib import Path
from urllib.parse import quote

from aiohttp import web

from bot.domain.lifecycle import TransitionError
from bot.services import console_auth, console_views
from bot.services.console_auth import LoginRefused
from storage.console import QueueFilter
from web.console.common import (
    COOKIE,
    BadInput,
    Console,
    Visit,
    message_page,
    render,
    translator,
    visit,
)
from web.transactions import run_op

log = logging.getLogger(__name__)
QUEUE_REFRESH_SECONDS = 5


# ---------------------------------------------------------------- login and logout


async def login_form(console: Console, request: web.Request) -> web.StreamResponse:
    """GET shows a button; only the POST spends the link (link previews and scanners fetch GETs)."""
    token = request.query.get("token", "")
    v = Visit(staff=None, csrf="", tr=translator(console, request))
    try:
        console_auth.read_link_token(console.app, token, console.app.now())
    except LoginRefused as exc:
        return message_page(console, request, 401, exc.reason, v)
    return render(console, request, v, "login.html", token=token)


async def login(console: Console, request: web.Request) -> web.StreamResponse:
    v = Visit(staff=None, csrf="", tr=translator(console, request))
    if not console.same_origin(request):
        return message_page(console, request, 403, "console.csrf", v)
    try:
        token = str((await request.post()).get("token") or "")
    except (ValueError, LookupError):  # a body that is not a form
        return message_page(console, request, 400, "console.bad_login_body", v)
    try:
        secret, expires = await run_op(console.app, lambda s: console_auth.open_session(s, console.app, token))
    except LoginRefused as exc:
        return message_page(console, request, 401 if exc.reason != "console.not_staff" else 403, exc.reason, v)
    response = redirect(f"{console.root}/queue")
    response.set_cookie(COOKIE, secret, max_age=int(console_auth.SESSION_TTL.total_seconds()), httponly=True,
                        samesite="Lax", path=console.root or "/", secure=console.secure)
    return response


async def logout(console: Console, request: web.Request, v: Visit) -> web.StreamResponse:
    cookie = request.cookies.get(COOKIE)
    await run_op(console.app, lambda s: console_auth.close_session(s, console.app, cookie))
    response = message_page(console, request, 200, "console.logged_out", Visit(None, "", v.tr))
    response.del_cookie(COOKIE, path=console.root or "/")
    return response


async def index(console: Console, request: web.Request) -> web.StreamResponse:
    try:
        await visit(console, request)
    except LoginRefused:
        return message_page(console, request, 401, "console.login_needed")
    return redirect(f"{console.root}/queue")


# ---------------------------------------------------------------- the queue


# A page a browser renders at once; past it the page says how many there are and asks for a filter.
QUEUE_ROWS = 200


def _filter(q: dict, choices: console_views.Choices) -> QueueFilter:
    """Read the filters; a value that is not one of the choices is bad input, said so."""
    def pick(name: str, allowed) -> str | None:  # noqa: ANN001
        value = (q.get(name) or "").strip()
        if value and value not in allowed:
            raise BadInput("console.bad_filter", name=name, value=value[:40])
        return value or None

    status = pick("status", [*choices.statuses, "all"])
    overdue = pick("overdue", ["1"])
    return QueueFilter(
        statuses=[] if status is None else (choices.statuses if status == "all" else [status]),
        department=pick("department", choices.departments), area=pick("area", choices.areas),
        kind=pick("kind", choices.kinds), urgency=pick("urgency", ["urgent", "normal"]),
        overdue=overdue == "1", channel=pick("channel", choices.channels), limit=QUEUE_ROWS)


async def queue(console: Console, request: web.Request, v: Visit) -> web.StreamResponse:
    app, staff = console.app, v.staff

    async def read(session):  # noqa: ANN001, ANN202
        choices = await console_views.choices(session, app)
        f = _filter(dict(request.query), choices)
        return choices, await console_views.queue(session, app, staff, f)

    choices, (rows, total) = await run_op(app, read, write=False)
    shown = {k: request.query.get(k, "") for k in ("status", "department", "area", "kind", "urgency", "channel")}
    shown["overdue"] = request.query.get("overdue") == "1"
    return render(console, request, v, "queue.html", rows=rows, total=total, choices=choices, f=shown,
                  refresh=QUEUE_REFRESH_SECONDS)


# ---------------------------------------------------------------- a ticket


async def ticket(console: Console, request: web.Request, v: Visit) -> web.StreamResponse:
    code = request.match_info["code"]
    pg = await run_op(console.app, lambda s: console_views.ticket_page(s, console.app, v.staff, code), write=False)
    route = pg.ticket.route or {}
    return render(console, request, v, "ticket.html", page=pg, actions=console_views.allowed_actions(v.staff, pg.ticket),
                  suggested_lead=route.get("lead"), suggested_co=set(route.get("co") or []))


def cache_dir(console: Console) -> Path:
    return Path(console.app.settings.console_cache_dir)


async def photo(console: Console, request: web.Request, v: Visit) -> web.StreamResponse:
    """A ticket's photo, fetched once through the Bot API (getFile) and then served from the cache."""
    code = request.match_info["code"]
    try:
        attachment_id = int(request.match_info["attachment"])
    except ValueError:
        raise BadInput("console.bad_photo") from None
    a = await run_op(console.app, lambda s: console_views.photo(s, v.staff, code, attachment_id), write=False)
    folder = cache_dir(console)
    path = folder / "".join(ch for ch in a.file_unique_id if ch.isalnum() or ch in "-_")
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        file = await console.bot.get_file(a.file_id)
        partial = path.with_suffix(".part")
        await console.bot.download_file(file.file_path, destination=partial)
        partial.replace(path)  # whole files only: a second request never reads half a photo
    return web.FileResponse(path, headers={"Content-Type": "image/jpeg", "Cache-Control": "private, max-age=86400"})


# ---------------------------------------------------------------- actions


def redirect(location: str) -> web.Response:
    """303 after a POST: reloading the page never repeats the action."""
    return web.Response(status=303, headers={"Location": location})


def _back(console: Console, code: str, key: str) -> web.Response:
    return redirect(f"{console.root}/tickets/{code}?msg={quote(key)}")


async def act(console: Console, request: web.Request, v: Visit) -> web.StreamResponse:
    """派单 / 合并 / 驳回 through the buttons' operations, 批示 / 领导包案 through the leaders' commands;
    a refusal comes back as a message, nothing changed."""
    code, action = request.match_info["code"], request.match_info["action"]
    form = await request.post()
    app, staff = console.app, v.staff

    async def op(session):  # noqa: ANN001, ANN202
        if action == "dispatch":
            lead = str(form.get("lead") or "")
            co = [str(c) for c in form.getall("co", [])]
            await console_views.dispatch(session, app, staff, code, lead, co)
            return "done.dispatched"
        if action == "merge":
            await console_views.merge(session, app, staff, code, str(form.get("target") or ""))
            return "console.done_merged"
        if action == "reject":
            await console_views.reject(session, app, staff, code, str(form.get("reason") or ""))
            return "console.done_rejected"
        if action == "instruct":
            await console_views.instruct(session, app, staff, code, str(form.get("words") or ""))
            return "console.done_instructed"
        if action == "take":
            await console_views.take(session, app, staff, code)
            return "console.done_taken"
        if action == "rate":
            try:
                score = int(str(form.get("score") or ""))
            except ValueError:
                raise BadInput("console.bad_score") from None
            reason = str(form.get("reason") or "") or None
            await console_views.rate(session, app, staff, code, score, reason, str(form.get("words") or "").strip() or None)
            return "console.done_rated"
        raise BadInput("console.bad_action")

    try:
        key = await run_op(app, op)
    except TransitionError as exc:
        log.info("console: %s on %s refused (%s)", action, code, exc.code)
        return await _with_flash(console, request, v, code, v.tr(exc.code, **getattr(exc, "params", {})))
    return _back(console, code, key)


async def _with_flash(console: Console, request: web.Request, v: Visit, code: str, text: str) -> web.StreamResponse:
    """The ticket page again, saying why the action was refused (the transaction was rolled back)."""
    pg = await run_op(console.app, lambda s: console_views.ticket_page(s, console.app, v.staff, code), write=False)
    route = pg.ticket.route or {}
    return render(console, request, v, "ticket.html", status=409, page=pg, flash=text, flash_error=True,
                  actions=console_views.allowed_actions(v.staff, pg.ticket),
                  suggested_lead=route.get("lead"), suggested_co=set(route.get("co") or []))
