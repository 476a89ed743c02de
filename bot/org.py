"""The org file (DESIGN §1): schema, loading and one-line error messages.

Pure: reads YAML and validates it; importing it into the database is
`storage.orgsync`'s job.
"""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

from bot.domain.areas import problem as bounds_problem
from bot.domain.calendar import WorkCalendar
from bot.domain.hotspots import HotspotPolicy
from bot.domain.ranking import Weights
from bot.domain.sla import SlaPolicy, parse_duration

Role = Literal["grid_volunteer", "building_leader", "dispatcher", "handler", "leader", "admin"]
KINDS = ("consultation", "help", "complaint", "suggestion", "report")


# A Telegram id as the database stores it (BIGINT): two ids typed together overflow it, and
# the database's refusal would come as a traceback, not a line naming the key.
TgId = Annotated[int, Field(gt=-(2**63), lt=2**63)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# Codes ride in callback data (64 bytes at most, ':' separates fields): keep them short and plain.
Code = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,24}$")]


class AreaSpec(_Strict):
    code: Code
    name: str
    chats: list[TgId] = []
    # Where the area lies, for private appeals with a shared location (bot/domain/areas.py):
    # two opposite corners [[lat, lon], [lat, lon]] of a box, or three or more polygon points.
    bounds: list[tuple[float, float]] | None = None

    @field_validator("bounds")
    @classmethod
    def _bounds(cls, v: list[tuple[float, float]] | None) -> list[tuple[float, float]] | None:
        if v is not None and (why := bounds_problem(v)):
            raise ValueError(why)
        return v


class DutySpec(_Strict):
    """An on-duty handler for urgent matters outside working hours."""

    user: TgId
    # 0 = Monday … 6 = Sunday (Python's weekday(); a roster written 1–7 would leave Monday unmanned)
    weekdays: list[Annotated[int, Field(ge=0, le=6)]] = Field(default_factory=lambda: [0, 1, 2, 3, 4, 5, 6])


class DepartmentSpec(_Strict):
    code: Code
    name: str
    chat: TgId | None = None
    handlers: list[TgId] = []
    leader: TgId | None = None
    duty: list[DutySpec] = []


class PersonSpec(_Strict):
    id: TgId
    role: Role
    area: str | None = None
    department: str | None = None
    name: str | None = None


class CatalogSpec(_Strict):
    category: str
    keywords: list[str]
    lead: str
    co: list[str] = []
    kind: Literal["consultation", "help", "complaint", "suggestion", "report"] = "help"


class KnowledgeSpec(_Strict):
    keywords: list[str]
    answer: str


class ChannelSpec(_Strict):
    """Another channel that files appeals through Open311 (a hotline, a web form): its name and key."""

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
    api_key: Annotated[str, StringConstraints(min_length=8, max_length=200)]


class SchedulerSpec(_Strict):
    scan_every: str = "60 s"
    digest_at: str = "08:30"  # local time of the morning digest
    digest_on: Literal["working_days", "every_day"] = "working_days"
    nag_at: str = "09:00"  # local time of the daily nag about overdue tickets (working days)

    @field_validator("digest_at", "nag_at", mode="before")
    @classmethod
    def _hhmm(cls, v: object) -> str:
        if isinstance(v, int) and not isinstance(v, bool):  # YAML 1.1 reads a bare 9:00 as 540
            v = f"{v // 60}:{v % 60:02d}"
        hh, sep, mm = str(v).strip().partition(":")
        if not (hh.isdigit() and mm.isdigit() and sep and 0 <= int(hh) <= 23 and 0 <= int(mm) <= 59):
            raise ValueError(f"expected a local time like 08:30, got {v!r}")
        return f"{int(hh):02d}:{int(mm):02d}"


class DispatchSpec(_Strict):
    auto: bool = False
    # Urgent tickets go straight to the department when the catalogue match is confident, even
    # with `auto: false` (seed 004: 7×24 response); the dispatch and leaders' chats are told.
    urgent_auto: bool = True
    confidence: Annotated[float, Field(ge=0, le=1)] = 0.6  # a share of the catalogue's evidence, 0–1
    # The on-duty dispatcher's roster (a day runs from one working-hours start to the next);
    # /duty in the dispatch chat overrides it. Urgent tickets name the one on duty.
    duty: list[DutySpec] = []


class ReportWeightsSpec(_Strict):
    """Weights of the three rates in the ranking score (bot.domain.ranking)."""

    response: float = 0.2
    resolution: float = 0.4
    satisfaction: float = 0.4


class ReportsSpec(_Strict):
    """督/考 (issue #10): ranking weights, the red-card penalty, who submits the ledgers."""

    weights: ReportWeightsSpec = ReportWeightsSpec()
    red_card_penalty: float = 5.0  # points off the 0-100 score per red card in the period
    unit: str = ""  # 提报单位 on the exported ledgers; empty: the locale's default

    @model_validator(mode="after")
    def _sane(self) -> "ReportsSpec":
        w = self.weights
        Weights.of(w.response, w.resolution, w.satisfaction, self.red_card_penalty)
        return self


class HotspotsSpec(_Strict):
    """高频共性 alerts (DESIGN §8): `threshold` tickets of one category in one area within `window`,
    or one matter merged/supported `matter` times."""

    threshold: int = 3
    window: str = "7 d"
    matter: int = 3


class OrgFile(_Strict):
    timezone: str = "Asia/Shanghai"
    locale: Literal["zh", "en"] = "zh"
    admins: list[TgId] = []
    dispatch_chat: TgId | None = None
    leaders_chat: TgId | None = None
    areas: list[AreaSpec] = []
    departments: list[DepartmentSpec] = []
    people: list[PersonSpec] = []
    catalog: list[CatalogSpec] = []
    knowledge: list[KnowledgeSpec] = []
    sla: dict = {}
    holidays: dict[str, str] = {}
    scheduler: SchedulerSpec = SchedulerSpec()
    dispatch: DispatchSpec = DispatchSpec()
    reports: ReportsSpec = ReportsSpec()
    hotspots: HotspotsSpec = HotspotsSpec()
    urgent_words: list[str] = []
    divert_words: list[str] = []
    working_hours: tuple[int, int] = (9, 18)
    channels: list[ChannelSpec] = []

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown timezone {v!r}") from None
        return v

    @field_validator("holidays", mode="before")
    @classmethod
    def _holiday_keys(cls, v: object) -> object:
        # YAML turns unquoted 2027-01-01 into a date; accept both spellings.
        if isinstance(v, dict):
            return {str(k): str(val).lower() for k, val in v.items()}
        return v

    @model_validator(mode="after")
    def _references(self) -> "OrgFile":
        for key, codes in (("areas", [a.code for a in self.areas]), ("departments", [d.code for d in self.departments])):
            if twice := next((c for i, c in enumerate(codes) if c in codes[:i]), None):
                # A ticket, a card and a ledger row name the code: two entries would be one.
                raise ValueError(f"{key}: code {twice!r} is used twice")
        areas = {a.code for a in self.areas}
        depts = {d.code for d in self.departments}
        for p in self.people:
            if p.area and p.area not in areas:
                raise ValueError(f"people: {p.id} names unknown area {p.area!r}")
            if p.department and p.department not in depts:
                raise ValueError(f"people: {p.id} names unknown department {p.department!r}")
            if p.role == "handler" and not p.department:  # /role refuses it too: a handler of nothing
                raise ValueError(f"people: {p.id} is a handler without a department")
        start, end = self.working_hours
        if not 0 <= start < end <= 24:
            raise ValueError(f"working_hours: expected [start, end] hours with 0 <= start < end <= 24, got "
                             f"[{start}, {end}]")
        names = [c.name for c in self.channels]
        if "telegram" in names or len(set(names)) != len(names):
            raise ValueError("channels: names must be unique and not 'telegram'")
        if len({c.api_key for c in self.channels}) != len(self.channels):
            raise ValueError("channels: every channel needs its own api_key")
        for row in self.catalog:
            for code in (row.lead, *row.co):
                if code not in depts:
                    raise ValueError(f"catalog: {row.category!r} names unknown department {code!r}")
        WorkCalendar.from_org(self.holidays, self.timezone)
        SlaPolicy.from_org(self.sla)
        try:
            parse_duration(self.scheduler.scan_every)
        except ValueError as exc:
            raise ValueError(f"scheduler.scan_every: {exc}") from None
        try:
            HotspotPolicy.from_org(self.hotspots.threshold, self.hotspots.window, self.hotspots.matter)
        except ValueError as exc:
            raise ValueError(f"hotspots: {str(exc).removeprefix('hotspots: ')}") from None
        return self


def chat_uses(org: OrgFile) -> list[tuple[int, str, str]]:
    """Every chat the org file binds: (chat id, kind, area or department code; "" for the office's)."""
    chats = [(cid, "community", a.code) for a in org.areas for cid in a.chats]
    chats += [(d.chat, "department", d.code) for d in org.departments if d.chat is not None]
    chats += [(cid, kind, "") for cid, kind in ((org.dispatch_chat, "dispatch"), (org.leaders_chat, "leaders"))
              if cid is not None]
    return chats


def chat_conflicts(org: OrgFile) -> list[str]:
    """Chats the org file binds that cannot work: one chat bound twice (the bot would serve it as
    only one of them), or a positive id, which is a person's private chat, not a group."""
    uses: dict[int, list[str]] = {}
    for cid, kind, code in chat_uses(org):
        uses.setdefault(cid, []).append(f"{kind} {code}".strip())
    out = [f"chat {cid} is bound {len(u)} times ({', '.join(u)}): give each its own group"
           for cid, u in uses.items() if len(u) > 1]
    out += [f"chat {cid} ({', '.join(u)}) is a private chat's id: a group's id is negative (-100…)"
            for cid, u in uses.items() if cid > 0]
    return out


EXAMPLE_KEY = "change-me"  # how config/org.example.yaml's api_keys begin


def example_keys(org: OrgFile) -> list[str]:
    """Channels still keyed as in the example file: anyone who has read it could file appeals."""
    return [f"channel {c.name} still has the example's api_key: give it a secret of its own"
            for c in org.channels if c.api_key.startswith(EXAMPLE_KEY)]


def with_extra_admins(org: OrgFile, ids: list[int]) -> OrgFile:
    """The org file plus the admins named in HUYING_ADMINS (a first run needs no file edit)."""
    merged = list(dict.fromkeys([*org.admins, *ids]))
    return org if merged == org.admins else org.model_copy(update={"admins": merged})


def as_deployed(org: OrgFile, admin_ids: list[int], timezone: str | None) -> OrgFile:
    """The org file as this deployment runs it: plus HUYING_ADMINS, and HUYING_TIMEZONE over its
    timezone (read and then ignored before: the calendar and the scheduler kept the file's)."""
    org = with_extra_admins(org, admin_ids)
    return org if not timezone or timezone == org.timezone else org.model_copy(update={"timezone": timezone})


class OrgFileError(Exception):
    """The org file cannot be used; the message is one line naming the problem."""


class _OnceLoader(yaml.SafeLoader):
    """YAML that refuses a key given twice in one mapping: PyYAML keeps the last silently, and a
    second `people:` block added at the bottom would drop the first block's roles at the next start."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: set = set()
        for key_node, _value in node.value:
            key = self.construct_object(key_node, deep=deep)  # type: ignore[no-untyped-call]
            if isinstance(key, (str, int, float, bool)) and key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key {key!r} is given twice", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def load_org(path: Path | str) -> OrgFile:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
        raw = yaml.load(text, Loader=_OnceLoader)  # noqa: S506 — a SafeLoader
    except OSError as exc:
        raise OrgFileError(f"HUYING_ORG_FILE {path}: cannot read it ({exc.strerror or exc})") from None
    except UnicodeDecodeError as exc:
        raise OrgFileError(f"HUYING_ORG_FILE {path}: not UTF-8 text (byte {exc.start}); save it as UTF-8") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        problem = getattr(exc, "problem", None)
        why = f": {problem}" if problem and "twice" in problem else ""
        raise OrgFileError(f"HUYING_ORG_FILE {path}: not valid YAML{where}{why}") from None
    if raw is None:  # empty or only comments: a half-written copy, not an office with nobody in it
        raise OrgFileError(f"HUYING_ORG_FILE {path}: the file is empty")
    if not isinstance(raw, dict):
        raise OrgFileError(f"HUYING_ORG_FILE {path}: expected a mapping of keys at the top")
    try:
        return OrgFile.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"]) or "(top)"
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown key"
        raise OrgFileError(f"HUYING_ORG_FILE {path}: {loc}: {msg}") from None
