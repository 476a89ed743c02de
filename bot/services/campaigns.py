"""专项: opened by a leader from a 高频共性 alert; gathers 一类事; its own clock; a closing report.

Rules live in bot/domain/campaigns.py. Here: the rows, the messages, and the moments things join.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import CampaignAct, button
from bot.context import App
from bot.domain import campaigns as rules
from bot.domain.codes import display
from bot.domain.lifecycle import Refusal
from bot.domain.nag import next_nag_time
from bot.domain.report import CampaignLine, campaign_running_at
from bot.i18n import Translator
from bot.services import hotspot_alerts, notify
from bot.services.access import Roles
from bot.services.addressing import able_to_take, dept_names, dispatch_chat_id, leaders_chat_id, person_name
from storage import directory, tickets
from storage import matter as repo
from storage.common import serialize
from storage.models import Campaign, Ticket

DEFAULT_DAYS = 30
FRACTIONS = (0.5, 0.8)


def _refuse(exc: rules.CampaignRefusal) -> Refusal:
    return Refusal(exc.key, **exc.params)


def lead_for(app: App, category: str) -> str | None:
    """The catalogue's lead department for a category (the 牵头部门 of its 专项)."""
    for row in app.org.catalog:
        if row.category == category:
            return row.lead
    return None


def _facts(c: Campaign) -> rules.CampaignFacts:
    return rules.CampaignFacts(c.area_code, c.category, c.opened_at, c.deadline, c.closed_at)


async def _area_name(session: AsyncSession, code: str) -> str:
    a = await directory.area(session, code)
    return a.name if a else code


def _chats(*ids: int | None) -> list[int]:
    """Each chat once, in the order given, none missing."""
    return list(dict.fromkeys(i for i in ids if i is not None))


def _day(app: App, when) -> str:  # noqa: ANN001
    return when.astimezone(app.tz).strftime("%Y-%m-%d")


async def ask_goal(session: AsyncSession, app: App, alert_id: int, roles: Roles, chat_id: int,
                   thread_id: int | None = None) -> None:
    """开设专项 pressed: a leader is asked for the goal and deadline (a reply to the prompt)."""
    alert = await repo.alert(session, alert_id)
    if alert is None:
        raise Refusal("error.bad_button")
    lead = lead_for(app, alert.category)
    try:
        rules.check_open(is_leader=roles.leader, goal="-", deadline=app.now() + timedelta(days=1),
                         now=app.now(), lead_dept=lead,
                         already_open=await repo.open_campaign_for(session, alert.area_code, alert.category) is not None)
    except rules.CampaignRefusal as exc:
        raise _refuse(exc) from None
    listed = await repo.alert_tickets(session, alert.id)
    tr = await notify.chat_translator(session, app, chat_id)
    names = await dept_names(session)
    notify.send(session, app, chat_id, tr("campaign.prompt", area=await _area_name(session, alert.area_code),
                                          category=alert.category, dept=names.get(lead or "", lead or "-"),
                                          default=DEFAULT_DAYS),
                thread_id=thread_id, force_reply=True, ticket_id=listed[0].id if listed else None,
                purpose="campaign_prompt", awaiting_user_id=roles.user_id, link_data={"alert": alert.id})


async def open_from_alert(session: AsyncSession, app: App, alert_id: int, roles: Roles, text: str) -> Campaign:
    """The leader's reply: open the 专项, gather the open tickets, ask the department for 成因排查."""
    alert = await repo.alert(session, alert_id)
    if alert is None:
        raise Refusal("error.bad_button")
    now = app.now()
    lead = lead_for(app, alert.category)
    await serialize(session, "campaign", alert.area_code, alert.category)
    try:
        goal, deadline = rules.goal_and_deadline(text, now, app.tz, DEFAULT_DAYS)
        rules.check_open(is_leader=roles.leader, goal=goal, deadline=deadline, now=now, lead_dept=lead,
                         already_open=await repo.open_campaign_for(session, alert.area_code, alert.category) is not None)
    except rules.CampaignRefusal as exc:
        raise _refuse(exc) from None
    await able_to_take(session, lead)  # its 成因排查 and reminders go to the lead's chat: one it can read
    c = await repo.create_campaign(session, area_code=alert.area_code, category=alert.category, lead_dept=lead,
                                   leader_id=roles.user_id, goal=goal, deadline=deadline, alert_id=alert.id,
                                   opened_at=now, reminded=0.0, overdue_sent=False)
    await repo.set_campaign(session, c.id, next_check_at=rules.clock_next(_facts(c), rules.ClockState(), FRACTIONS))
    since = now - hotspot_alerts.window_of(app) * 52  # open tickets of any age in that area+category
    joined = []
    for t in await repo.same_scope(session, c.area_code, c.category, since=since):
        if t.status in rules.JOINABLE and await repo.join(session, c.id, t.id, now):
            joined.append(t)
            await tickets.add_event(session, t.id, "campaign_joined", now, actor_id=roles.user_id,
                                    data={"campaign": c.id})
    await _announce_open(session, app, c, joined)
    return c


async def _announce_open(session: AsyncSession, app: App, c: Campaign, joined: list[Row]) -> None:
    names = await dept_names(session)
    area = await _area_name(session, c.area_code)
    leader = await person_name(session, c.leader_id) or str(c.leader_id)
    params = dict(id=c.id, area=area, category=c.category, dept=names.get(c.lead_dept, c.lead_dept), leader=leader,
                  goal=c.goal, deadline=_day(app, c.deadline), count=len(joined))
    leaders = await leaders_chat_id(session, app)
    for chat_id in _chats(leaders, await dispatch_chat_id(session, app)):
        tr = await notify.chat_translator(session, app, chat_id)
        kb = [[button(tr("btn.close_campaign"), CampaignAct(action="close", campaign_id=c.id))]] if chat_id == leaders else None
        notify.send(session, app, chat_id, tr("campaign.opened", **params), keyboard=kb)
    dept = await directory.department(session, c.lead_dept)
    if dept and dept.chat_id and joined:
        tr = await notify.chat_translator(session, app, dept.chat_id)
        lines = hotspot_alerts.ticket_lines(tr, joined, {t.id: t.text for t in joined})
        notify.send(session, app, dept.chat_id, tr("campaign.dept_opened", tickets=lines, **params),
                    force_reply=True, ticket_id=joined[0].id, purpose="campaign_cause",
                    link_data={"campaign": c.id})


async def join_new(session: AsyncSession, app: App, t: Ticket) -> Campaign | None:
    """A new ticket of an area+category with a 专项 running joins it."""
    if not (t.area_code and t.category):
        return None
    c = await repo.open_campaign_for(session, t.area_code, t.category)
    if c is None or not rules.joins(campaign=_facts(c), area=t.area_code, category=t.category, status=t.status,
                                    campaign_id=None):
        return None
    if not await repo.join(session, c.id, t.id, app.now()):
        return None
    await tickets.add_event(session, t.id, "campaign_joined", app.now(), data={"campaign": c.id})
    dept = await directory.department(session, c.lead_dept)
    if dept and dept.chat_id:
        tr = await notify.chat_translator(session, app, dept.chat_id)
        notify.send(session, app, dept.chat_id, tr("campaign.joined", code=display(t.code), id=c.id))
    return c


async def save_cause(session: AsyncSession, app: App, campaign_id: int, user_id: int, text: str,
                     chat_id: int) -> Campaign:
    """成因排查: the lead department's words, kept on the 专项 and passed to the leaders."""
    c = await repo.campaign(session, campaign_id)
    if c is None:
        raise Refusal("error.bad_button")
    dept = await directory.department(session, c.lead_dept)
    if dept is None or dept.chat_id != chat_id:
        raise Refusal("campaign.not_lead_dept")
    await repo.set_campaign(session, c.id, cause_text=text.strip()[:4000], cause_by=user_id, cause_at=app.now())
    leaders = await leaders_chat_id(session, app)
    if leaders:
        tr = await notify.chat_translator(session, app, leaders)
        notify.send(session, app, leaders, tr("campaign.cause_to_leaders", id=c.id, dept=dept.name, text=text.strip()))
    return c


async def progress(session: AsyncSession, c: Campaign) -> rules.CampaignReport:
    """Its tickets, how many are solved, satisfaction among the rated (the closing report's figures)."""
    rows = await repo.campaign_tickets(session, c.id)
    levels = await repo.latest_result_levels(session, [t.id for t in rows])
    return rules.report([rules.MemberFacts(t.status, levels.get(t.id)) for t in rows])


async def close(session: AsyncSession, app: App, campaign_id: int, roles: Roles) -> Campaign:
    """结项 (leaders only): the closing report to the leaders, the dispatchers and the department."""
    if not roles.leader:
        raise Refusal("campaign.close_leaders_only")
    c = await repo.campaign(session, campaign_id)
    if c is None:
        raise Refusal("error.bad_button")
    if not await repo.close_campaign(session, c.id, roles.user_id or 0, app.now()):
        raise Refusal("campaign.closed_already")
    r = await progress(session, c)
    names = await dept_names(session)
    dept = await directory.department(session, c.lead_dept)
    for chat_id in _chats(await leaders_chat_id(session, app), await dispatch_chat_id(session, app),
                          dept.chat_id if dept else None):
        tr = await notify.chat_translator(session, app, chat_id)
        notify.send(session, app, chat_id, report_text(tr, app, c, r, await _area_name(session, c.area_code),
                                                       names.get(c.lead_dept, c.lead_dept),
                                                       await person_name(session, c.leader_id) or str(c.leader_id)))
    return c


def report_text(tr: Translator, app: App, c: Campaign, r: rules.CampaignReport, area: str, dept: str,
                leader: str) -> str:
    sat = f"{r.satisfaction:.0%}" if r.satisfaction is not None else tr("campaign.no_rating")
    return tr("campaign.report", id=c.id, area=area, category=c.category, dept=dept, leader=leader, goal=c.goal,
              count=r.tickets, solved=r.solved, satisfaction=sat, rated=r.rated,
              cause=c.cause_text or tr("campaign.no_cause"))


async def scan(session: AsyncSession, app: App) -> int:
    """The 专项 clock: reminders, the overdue notice, daily nags — to the department and leaders."""
    now = app.now()
    acted = 0
    for c in await repo.due_campaigns(session, now):
        state = rules.ClockState(c.reminded, c.overdue_sent, c.nag_at)
        actions, new = rules.clock_step(_facts(c), state, now, FRACTIONS,
                                        lambda after: next_nag_time(app.calendar, after))
        await repo.set_campaign(session, c.id, reminded=new.reminded, overdue_sent=new.overdue_sent, nag_at=new.nag_at,
                                next_check_at=rules.clock_next(_facts(c), new, FRACTIONS))
        if actions:
            await _tell_clock(session, app, c, actions[-1])
            acted += 1
    return acted


async def _tell_clock(session: AsyncSession, app: App, c: Campaign, action: rules.CampaignAction) -> None:
    r = await progress(session, c)
    area = await _area_name(session, c.area_code)
    dept = await directory.department(session, c.lead_dept)
    chats = [dept.chat_id if dept else None]
    if not isinstance(action, rules.CampaignReminder):
        chats.append(await leaders_chat_id(session, app))
    for chat_id in [x for x in chats if x]:
        tr = await notify.chat_translator(session, app, chat_id)
        params = dict(id=c.id, area=area, category=c.category, deadline=_day(app, c.deadline), solved=r.solved,
                      count=r.tickets)
        if isinstance(action, rules.CampaignReminder):
            text = tr("campaign.reminder", percent=f"{action.fraction:.0%}", **params)
        elif isinstance(action, rules.CampaignOverdue):
            text = tr("campaign.overdue", **params)
        else:
            text = tr("campaign.nag", **params)
        notify.send(session, app, chat_id, text)


async def in_progress(session: AsyncSession, app: App, at: datetime) -> list[CampaignLine]:
    """The 专项 running at `at` (the end of a report's period), with their progress as of now."""
    out = []
    for c in await repo.campaigns_opened_before(session, at):
        if not campaign_running_at(c.opened_at, c.closed_at, at):
            continue
        r = await progress(session, c)
        out.append(CampaignLine(c.id, await _area_name(session, c.area_code), c.category, c.lead_dept, c.deadline,
                                r.tickets, r.solved))
    return out
