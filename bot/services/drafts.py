"""The private guided appeal (describe → photos → location → area → kind → confirm).

A private appeal gets an area like a community chat's does (issue #13): a grid volunteer's own
area; else the area whose org-file bounds hold the shared location; else the person picks it
from one button per area (asked only when there are two or more).
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import Flow, button
from bot.context import App
from bot.domain.appeal import Appeal, Photo
from bot.domain.intake import MIN_APPEAL_CHARS, summary
from bot.i18n import Translator
from bot.services import intake, notify
from storage import directory, drafts, outbox
from storage.common import serialize
from storage.models import Area, Draft, Ticket

KINDS = ("help", "complaint", "suggestion", "consultation", "report")
MAX_PHOTOS = 10


def _kb(tr: Translator, *pairs: tuple[str, Flow]) -> list[list[dict]]:
    return [[button(tr(k), cb) for k, cb in pairs]]


async def prompt(session: AsyncSession, app: App, user_id: int, tr: Translator, d: Draft,
                 album: bool = False) -> None:
    cancel = ("flow.cancel", Flow(step="cancel"))
    if d.step == "describe":
        notify.send(session, app, user_id, tr("flow.ask_describe"), keyboard=_kb(tr, cancel))
    elif d.step == "photos":
        text = tr("flow.ask_photos") if not d.photos else tr("flow.photo_count", count=len(d.photos))
        label = "flow.done" if d.photos else "flow.skip"
        kb = _kb(tr, (label, Flow(step="photos_done")), cancel)
        if album:
            # An album's photos come as one message each: one count, held as long as an album's
            # acknowledgement is, rewritten by each photo (ten photos gave ten answers).
            waiting = await outbox.pending_in_chat(session, user_id, "flow_photos")
            if waiting is not None and await outbox.rewrite_pending(
                    session, waiting.id, {**waiting.payload, "text": notify.clip(text), "keyboard": kb}):
                return
        notify.send(session, app, user_id, text, keyboard=kb, purpose="flow_photos" if album else None,
                    delay=app.settings.album_debounce if album else 0.0)
    elif d.step == "location":
        notify.send(session, app, user_id, tr("flow.ask_location"),
                    keyboard=_kb(tr, ("flow.skip", Flow(step="location_skip")), cancel))
    elif d.step == "area":
        buttons = [button(a.name, Flow(step="area", value=a.code)) for a in await areas(session, app)]
        rows = [buttons[i:i + 2] for i in range(0, len(buttons), 2)] + [[button(tr("flow.cancel"), Flow(step="cancel"))]]
        notify.send(session, app, user_id, tr("flow.ask_area"), keyboard=rows)
    elif d.step == "kind":
        rows = [[button(tr(f"kind.{k}"), Flow(step="kind", value=k)) for k in KINDS[:3]],
                [button(tr(f"kind.{k}"), Flow(step="kind", value=k)) for k in KINDS[3:]],
                [button(tr("flow.cancel"), Flow(step="cancel"))]]
        notify.send(session, app, user_id, tr("flow.ask_kind"), keyboard=rows)
    elif d.step == "confirm":
        where = tr("flow.has_location") if d.latitude is not None else tr("flow.no_location")
        area = await directory.area(session, d.area_code) if d.area_code else None
        if area is not None:
            where = tr("flow.area", area=area.name) + "｜" + where
        text = tr("flow.confirm", text=summary(d.text, 300), photos=len(d.photos), where=where,
                  kind=tr(f"kind.{d.kind or 'help'}"))
        notify.send(session, app, user_id, text,
                    keyboard=_kb(tr, ("flow.submit", Flow(step="submit")), cancel))


async def areas(session: AsyncSession, app: App) -> list[Area]:
    """The areas to choose from, in the org file's order (then any added since, by code)."""
    order = {a.code: i for i, a in enumerate(app.org.areas)}
    return sorted(await directory.areas(session), key=lambda a: (order.get(a.code, len(order)), a.code))


async def _after_location(session: AsyncSession, app: App, d: Draft) -> str:
    """The step after the place: the area question, unless the area is known or there is no choice."""
    if d.area_code is None:
        known = await areas(session, app)
        if len(known) > 1:
            return "area"
        d.area_code = known[0].code if known else None
    return "kind"


async def begin(session: AsyncSession, app: App, user_id: int, tr: Translator, text: str,
                photos: list[Photo], area: str | None = None, album: bool = False) -> Draft:
    """A new draft; `area` is the volunteer's own (they keep it whatever place they share)."""
    text = text.strip()
    await serialize(session, "draft", user_id)
    d = await drafts.start(session, user_id, app.now(), text=text,
                           step="photos" if len(text) >= MIN_APPEAL_CHARS else "describe", area_code=area)
    d.photos = [p.__dict__ for p in photos][:MAX_PHOTOS]
    await prompt(session, app, user_id, tr, d, album=album)
    return d


async def current(session: AsyncSession, user_id: int) -> Draft | None:
    """The person's draft; the lock keeps an album's photos from racing on it (PostgreSQL)."""
    await serialize(session, "draft", user_id)
    return await drafts.get(session, user_id, refresh=True)


# A draft nobody touched for this long is left behind: the next words start a new one. Glued onto
# yesterday's blocked drain, today's broken street lamp made one ticket of two matters.
STALE_AFTER = timedelta(hours=6)


async def fresh(session: AsyncSession, app: App, user_id: int) -> Draft | None:
    """The person's draft, unless it has lain idle past `STALE_AFTER` (then it is dropped)."""
    d = await current(session, user_id)
    if d is not None and d.updated_at is not None and app.now() - d.updated_at > STALE_AFTER:
        await drafts.drop(session, user_id)
        return None
    return d


async def feed(session: AsyncSession, app: App, d: Draft, tr: Translator, *, text: str = "",
               photos: Sequence[Photo] = (), location: tuple[float, float] | None = None,
               album: bool = False) -> None:
    """A message during the flow: it fills the current step (or adds what it carries)."""
    d.updated_at = app.now()
    if photos:
        known = {p["file_unique_id"] for p in d.photos}
        d.photos = d.photos + [p.__dict__ for p in photos if p.file_unique_id not in known][: MAX_PHOTOS - len(d.photos)]
    if location:
        d.latitude, d.longitude = location
        d.area_code = d.area_code or intake.located_in(app, *location)
    words = text.strip()
    if d.step == "describe":
        if len(words) >= MIN_APPEAL_CHARS:
            d.text, d.step = words, "photos"
    elif words:
        d.text = f"{d.text}\n{words}".strip()  # more words at a later step add to the description
    if d.step == "location" and location:
        d.step = await _after_location(session, app, d)
    elif d.step == "area" and d.area_code:  # a place shared instead of a button pressed
        d.step = "kind"
    await prompt(session, app, d.user_id, tr, d, album=album)


async def step(session: AsyncSession, app: App, d: Draft, tr: Translator, action: str, value: str,
               origin_message_id: int) -> Ticket | None:
    d.updated_at = app.now()
    if action == "photos_done" and d.step == "photos":
        # A place shared before it was asked for is not asked for again.
        d.step = "location" if d.latitude is None else await _after_location(session, app, d)
    elif action == "location_skip" and d.step == "location":
        d.step = await _after_location(session, app, d)
    elif action == "area" and d.step == "area" and value in {a.code for a in await areas(session, app)}:
        d.area_code, d.step = value, "kind"
    elif action == "kind" and d.step == "kind" and value in KINDS:
        d.kind, d.step = value, "confirm"
    elif action == "submit" and d.step == "confirm":
        appeal = Appeal(
            chat_id=d.user_id, chat_kind="private", message_id=origin_message_id, user_id=d.user_id, text=d.text,
            kind=d.kind, photos=[Photo(**p) for p in d.photos], area_code=d.area_code,
            location=(d.latitude, d.longitude) if d.latitude is not None and d.longitude is not None else None,
        )
        await drafts.drop(session, d.user_id)
        ticket, _ = await intake.file_appeal(session, app, appeal)
        return ticket
    else:
        return None
    await prompt(session, app, d.user_id, tr, d)
    return None


async def cancel(session: AsyncSession, user_id: int) -> bool:
    return await drafts.drop(session, user_id)
