"""The annex ledgers as .xlsx (openpyxl): seed 002's annexes 2-5 column for column, plus the
不满意台账 of seed 001.

Layout of every sheet: row 1 the title (with the period), row 2 the annex's header line
提报单位 / 提报时间 (annexes 2, 4, 5 and the 不满意台账; annex 3 has none in the seed, so its
headings are on row 2), then the column headings, then one row per ticket. Headings are locale
text (`xlsx.h.*`), so the Chinese words live in the catalogs.

Personal data: the reporter's name and contact details are written only when `with_contacts`
(exports asked for in staff chats and from the command line); otherwise those cells stay empty.
"""
from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Border, Font, Side
from openpyxl.utils import get_column_letter

Translate = Callable[..., str]


@dataclass(frozen=True)
class TicketRow:
    """One ticket, as the ledgers show it (texts already rendered by the service)."""

    code: str
    text: str
    dept: str = ""  # the lead department's name
    reporter: str = ""  # personal
    contact: str = ""  # personal
    note: str = ""  # 备注: status, 领导包案, 职责争议, overdue
    resolved: bool = False
    result: str = ""  # 解决方式 / 解决情况
    dept_contact: str = ""  # the handler who owns it (staff, not personal data)
    level: int | None = None  # satisfaction 4..1, None = not rated
    opinion: str = ""  # 意见建议: the reason or comment given with the rating
    rated_at: str = ""  # local time of the rating, for the 不满意台账
    handling: str = ""  # 处理情况 after a 不满意 (reopened, under review, explained …)


@dataclass(frozen=True)
class Form:
    name: str
    title_key: str
    headings: tuple[str, ...]  # message keys
    header_line: bool
    cells: Callable[[int, TicketRow, bool, Translate], list[object]]


def _desc(row: TicketRow) -> str:
    return f"{row.code} {row.text}".strip()


def _personal(value: str, with_contacts: bool) -> str:
    return value if with_contacts else ""


def _level(level: int | None, t: Translate) -> str:
    return t(f"xlsx.level.{level}" if level in (4, 3, 2, 1) else "xlsx.level.none")


FORMS: dict[str, Form] = {
    # 附件2 企业发展、项目建设问题台账
    "ledger": Form("ledger", "xlsx.title.ledger",
                   ("xlsx.h.seq", "xlsx.h.company", "xlsx.h.problem", "xlsx.h.suggested_dept",
                    "xlsx.h.contact", "xlsx.h.note"), True,
                   lambda n, r, c, t: [n, _personal(r.reporter, c), _desc(r), r.dept,
                                       _personal(r.contact, c), r.note]),
    # 附件3 企业发展、项目建设问题转办清单 (no 提报单位 line in the seed)
    "transfers": Form("transfers", "xlsx.title.transfers",
                      ("xlsx.h.seq", "xlsx.h.company", "xlsx.h.problem", "xlsx.h.contact",
                       "xlsx.h.suggested_dept"), False,
                      lambda n, r, c, t: [n, _personal(r.reporter, c), _desc(r), _personal(r.contact, c),
                                          r.dept]),
    # 附件4 企业发展、项目建设问题解决反馈表
    "feedback": Form("feedback", "xlsx.title.feedback",
                     ("xlsx.h.seq", "xlsx.h.company", "xlsx.h.problem", "xlsx.h.solved", "xlsx.h.how",
                      "xlsx.h.dept_of", "xlsx.h.dept_contact", "xlsx.h.note"), True,
                     lambda n, r, c, t: [n, _personal(r.reporter, c), _desc(r),
                                         t("xlsx.yes") if r.resolved else t("xlsx.no"), r.result, r.dept,
                                         r.dept_contact, r.note]),
    # 附件5 企业发展、项目建设问题解决情况满意度评价表
    "satisfaction": Form("satisfaction", "xlsx.title.satisfaction",
                         ("xlsx.h.seq", "xlsx.h.problem_short", "xlsx.h.result", "xlsx.h.solving_dept",
                          "xlsx.h.rating", "xlsx.h.opinion"), True,
                         lambda n, r, c, t: [n, _desc(r), r.result, r.dept, _level(r.level, t), r.opinion]),
    # seed 001: 专门建立“不满意”台账核实回访
    "unsatisfied": Form("unsatisfied", "xlsx.title.unsatisfied",
                        ("xlsx.h.seq", "xlsx.h.code", "xlsx.h.problem_short", "xlsx.h.undertaker",
                         "xlsx.h.rated_at", "xlsx.h.reason", "xlsx.h.handling", "xlsx.h.reporter_contact"),
                        True,
                        lambda n, r, c, t: [n, r.code, r.text, r.dept, r.rated_at, r.opinion, r.handling,
                                            _personal(" ".join(x for x in (r.reporter, r.contact) if x), c)]),
}
FORM_NAMES = tuple(FORMS)


def heading_row(form: Form) -> int:
    return 3 if form.header_line else 2


def headings(form_name: str, t: Translate) -> list[str]:
    return [t(k) for k in FORMS[form_name].headings]


_THIN = Side(style="thin", color="808080")
_BOX = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_WIDTH = {"xlsx.h.seq": 6, "xlsx.h.problem": 48, "xlsx.h.problem_short": 48, "xlsx.h.how": 36,
          "xlsx.h.result": 36, "xlsx.h.code": 15}


def _safe(value: object) -> object:
    return ILLEGAL_CHARACTERS_RE.sub("", value) if isinstance(value, str) else value


def write_xlsx(form_name: str, rows: Sequence[TicketRow], *, t: Translate, period_label: str, unit: str,
               submitted: str, with_contacts: bool) -> bytes:
    """The workbook of one form as bytes. `submitted` is the 提报时间 text (a local date)."""
    form = FORMS[form_name]
    wb = Workbook()
    ws = wb.active
    title = t(form.title_key)
    ws.title = title[:31]
    ncols = len(form.headings)
    ws.cell(1, 1, t("xlsx.title_period", title=title, period=period_label)).font = Font(bold=True, size=14)
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=ncols)
    ws.cell(1, 1).alignment = Alignment(horizontal="center")
    if form.header_line:
        ws.cell(2, 1, t("xlsx.unit", unit=unit))
        ws.cell(2, ncols, t("xlsx.submitted", date=submitted))
    top = heading_row(form)
    for col, key in enumerate(form.headings, 1):
        cell = ws.cell(top, col, t(key))
        cell.font = Font(bold=True)
        cell.border = _BOX
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        ws.column_dimensions[get_column_letter(col)].width = _WIDTH.get(key, 18)
    for n, row in enumerate(rows, 1):
        for col, value in enumerate(form.cells(n, row, with_contacts, t), 1):
            cell = ws.cell(top + n, col, _safe(value))
            if isinstance(value, str):
                cell.data_type = "s"  # a reporter's "=…" is text, never a formula
            cell.border = _BOX
            cell.alignment = Alignment(vertical="top", wrap_text=True)
    ws.freeze_panes = ws.cell(top + 1, 1)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
