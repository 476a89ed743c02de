"""督/考 output: the chart's packaged CJK font, the annex .xlsx read back, the report text."""
from __future__ import annotations

import io
import warnings
from fractions import Fraction

import numpy as np
import pytest
from matplotlib.ft2font import FT2Font
from matplotlib.text import Text
from openpyxl import load_workbook

from bot.domain.periods import Period, PeriodKind
from bot.domain.ranking import Weights
from bot.domain.report import build
from bot.i18n import Translator
from bot.reports import chart
from bot.reports.fonts import FONT_PACKAGE, cjk_font_path
from bot.reports.ledgers import FORMS, TicketRow, heading_row, write_xlsx
from bot.reports.text import chart_rows, chart_text, duration, percent, period_label, points, render
from tests.test_reports_domain import AS_OF, CARDS, DISPATCHES, RATINGS, REOPENS, TZ

ZH, EN = Translator("zh"), Translator("en")
NAMES = {"cgj": "城市管理局", "zjj": "住房和城乡建设局", "sw": "水务局"}
KW = dict(received=9, dispatches=DISPATCHES, ratings=RATINGS, cards=CARDS, reopens=REOPENS,
          departments=["cgj", "sw", "zjj"], weights=Weights.of())


def november():
    return build(Period(2026, PeriodKind.MONTH, 11), TZ, AS_OF, **KW)


# -- the chart ---------------------------------------------------------------------------------


def test_the_font_is_the_packages_own_file() -> None:
    path = cjk_font_path()
    assert path.parent.parent.name == FONT_PACKAGE and path.parent.name == "fonts"
    assert "site-packages" in path.parts or ".venv" in str(path)
    assert FT2Font(str(path)).family_name == "Noto Sans CJK SC"


def test_chart_text_uses_only_the_packaged_font_and_has_every_glyph() -> None:
    report = november()
    fig = chart.build_figure(chart_rows(report, NAMES), chart_text(report, ZH))
    texts = [t for t in fig.findobj(Text) if t.get_text() and t.get_visible()]
    words = {t.get_text() for t in texts}
    assert {"城市管理局", "住房和城乡建设局", "响应率", "办结率", "满意率",
            "2026年11月 各部门响应率、办结率、满意率"} <= words
    assert "水务局" not in words  # unranked: nothing to draw
    for t in texts:
        assert t.get_fontproperties().get_file() == str(cjk_font_path()), t.get_text()
    font = FT2Font(str(cjk_font_path()))
    missing = {ch for w in words for ch in w if not ch.isspace() and font.get_char_index(ord(ch)) == 0}
    assert missing == set()


def test_rendering_warns_of_no_missing_glyph() -> None:
    report = november()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        png = chart.render_png(chart_rows(report, NAMES), chart_text(report, ZH))
    assert [str(w.message) for w in caught if "missing from font" in str(w.message)] == []
    assert png[:8] == b"\x89PNG\r\n\x1a\n"


def _glyph_bitmap(ch: str) -> bytes:
    font = FT2Font(str(cjk_font_path()))
    font.set_size(24, 72)
    font.set_text(ch)
    font.draw_glyphs_to_bitmap()
    return np.asarray(font.get_image()).tobytes()


def test_chinese_glyphs_are_not_tofu() -> None:
    """Tofu boxes are all alike: real glyphs of different characters differ from each other."""
    bitmaps = {ch: _glyph_bitmap(ch) for ch in "响应办结满意率局"}
    assert len(set(bitmaps.values())) == len(bitmaps)
    assert all(any(b) for b in bitmaps.values())


def _png_size(png: bytes) -> tuple[int, int]:
    return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")


@pytest.mark.parametrize("departments", [4, 12, 13, 45, 90, 400])
def test_the_chart_stays_a_photo_telegram_takes_for_any_number_of_departments(departments: int) -> None:
    """sendPhoto: width + height at most 10,000 px, sides at most 20 times apart. Side by side, 75
    departments made 9,950 × 480 px and 90 made 11,900 × 480."""
    rows = [chart.ChartRow(f"第{i}承办单位", Fraction(9, 10), Fraction(3, 4), None) for i in range(departments)]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        png = chart.render_png(rows, chart_text(november(), ZH))
    w, h = _png_size(png)
    assert w + h <= 10_000 and max(w, h) <= 20 * min(w, h), (w, h)
    assert [str(x.message) for x in caught if "missing from font" in str(x.message)] == []
    if departments > chart.SIDE_BY_SIDE_MAX:  # one under another: every department named, top to bottom
        fig = chart.build_figure(rows, chart_text(november(), ZH))
        names = [t.get_text() for t in fig.axes[0].get_yticklabels()]
        assert names == [f"第{i}承办单位" for i in range(departments)]
        assert fig.axes[0].get_ylim()[0] > fig.axes[0].get_ylim()[1]  # the first at the top


def test_empty_chart_still_renders() -> None:
    png = chart.render_png([], chart_text(november(), EN))
    assert png[:4] == b"\x89PNG"


# -- the report text ---------------------------------------------------------------------------


def test_numbers_and_durations() -> None:
    assert [percent(Fraction(2, 3)), percent(Fraction(13, 16)), percent(Fraction(1)), percent(None)] == \
        ["66.7%", "81.3%", "100.0%", "—"]
    assert [points(Fraction(200, 3)), points(Fraction(-1, 20)), points(None)] == ["66.7", "-0.1", "—"]
    from datetime import timedelta
    assert duration(timedelta(hours=7, minutes=30), ZH) == "7小时30分钟"
    assert duration(timedelta(days=26, hours=23, minutes=5), ZH) == "26天23小时"
    assert duration(timedelta(days=1), EN) == "1 d"
    assert duration(timedelta(seconds=20), EN) == "0 min"
    assert [period_label(Period(2026, k, i), ZH) for k, i in
            ((PeriodKind.MONTH, 11), (PeriodKind.QUARTER, 4), (PeriodKind.HALF, 2), (PeriodKind.YEAR, 1))] == \
        ["2026年11月", "2026年第4季度", "2026年下半年", "2026年度"]


def test_the_monthly_report_text() -> None:
    text = render(november(), NAMES, TZ, ZH)
    assert text.splitlines() == [
        "📊 2026年11月 诉求办理通报",
        "统计截至 2026-12-01 09:00",
        "",
        "【总体】",
        "受理诉求 9 件",
        "派单 7，签收 4，办结 3，超期 3，退单 2，重办 1",
        "响应率 50.0% (3/6)；办结率 50.0% (2/4)；满意率 80.0% (4/5)",
        "评价：非常满意 1，比较满意 1，基本满意 2，不满意 1；未评价 1（不计入满意率）",
        "黄牌 2，红牌 1；平均签收用时 7小时30分钟，平均办结用时 5天16小时",
        "",
        "【部门排名】得分 = 响应率×0.2 + 办结率×0.4 + 满意率×0.4（百分制），红牌每张扣 5 分",
        "1. 住房和城乡建设局　66.7 分｜响应 33.3%　办结 50.0%　满意 100.0%｜派单 3　超期 2　红牌 0",
        "2. 城市管理局　55.0 分｜响应 66.7%　办结 50.0%　满意 66.7%｜派单 4　超期 1　红牌 1",
        "未排名（本期无可考核工单）：水务局",
        "",
        "【超期最久】",
        "#2026-000101 住房和城乡建设局 已超期 26天23小时，仍未签收",
        "#2026-000002 城市管理局 超期 1天 后办结",
        "#2026-000104 住房和城乡建设局 超期 1天 后退单",
        "",
        "【高频共性问题】（每个区域前 3 项）",
        "本期无高频共性问题",
        "",
        "【进行中的专项】",
        "无进行中的专项",
    ]


def test_hotspots_per_area_and_campaigns_in_english() -> None:
    from dataclasses import replace

    from bot.domain.report import CampaignLine, HotspotLine
    from tests.test_reports_domain import local
    report = replace(november(), hotspots=[
        HotspotLine("港口镇", "市容环卫", 5, 2), HotspotLine("新河街道", "噪音扰民", 4, 0),
        HotspotLine("港口镇", "供水排水", 3, 0)],
        campaigns=[CampaignLine(1, "港口镇", "市容环卫", "cgj", local(2026, 12, 31), 6, 2)])
    en = render(report, NAMES, TZ, EN).splitlines()
    assert en[en.index("[Recurring problems] (top 3 per area)"):] == [
        "[Recurring problems] (top 3 per area)",
        "港口镇: 市容环卫 5 tickets (2 supporters); 供水排水 3 tickets",
        "新河街道: 噪音扰民 4 tickets",
        "",
        "[Campaigns in progress]",
        "Campaign #1 港口镇 · 市容环卫 | led by 城市管理局 | due 2026-12-31 | 6 tickets, 2 solved",
    ]


def test_half_year_names_the_bottom_and_english_works() -> None:
    from tests.test_reports_domain import local
    half = build(Period(2026, PeriodKind.HALF, 2), TZ, local(2027, 1, 4, 9), **KW)
    # The half-year names the last two; only the year's demand a written review (seed 002).
    assert "⚠️ 排名后两位：住房和城乡建设局" in render(half, NAMES, TZ, ZH).splitlines()
    en = render(half, NAMES, TZ, EN).splitlines()
    assert en[0] == "📊 Half-year ranking: H2 2026"
    assert "⚠️ The bottom two: 住房和城乡建设局" in en


# -- the ledgers -------------------------------------------------------------------------------

ROWS = [
    TicketRow(code="#2026-000001", text="小区门口垃圾三天没人清运", dept="城市管理局", reporter="张三",
              contact="@zhangsan", note="领导包案：李局长", resolved=True, result="已清运", dept_contact="王五 @wangwu",
              level=4, opinion="", rated_at="2026-11-06 10:00", handling=""),
    TicketRow(code="#2026-000002", text="=HYPERLINK(\"http://x\")\x07", dept="住房和城乡建设局", reporter="李四",
              contact="@lisi", resolved=False, level=None, opinion="太慢了", rated_at="2026-11-20 09:00",
              handling="重新办理中"),
]

EXPECTED_HEADINGS = {
    "ledger": ["序号", "企业名称", "存在问题、困难、诉求描述", "建议解决部门", "企业联系人及联系方式", "备注"],
    "transfers": ["序号", "企业名称", "存在问题、困难、诉求描述", "企业联系人及联系方式", "建议解决部门"],
    "feedback": ["序号", "企业名称", "存在问题、困难、诉求描述", "是否解决", "解决方式", "所属镇街（部门）",
                 "镇街（部门）联系人及联系方式", "备注"],
    "satisfaction": ["序号", "问题描述", "解决情况", "解决部门", "满意度评价", "意见建议"],
    "unsatisfied": ["序号", "工单编号", "问题描述", "承办部门", "评价时间", "不满意原因", "处理情况",
                    "群众姓名及联系方式"],
}


def _read(data: bytes) -> list[list[object]]:
    ws = load_workbook(io.BytesIO(data)).active
    return [list(r) for r in ws.iter_rows(values_only=True)]


@pytest.mark.parametrize("form", list(FORMS))
def test_each_annex_has_its_own_headings_and_header_line(form: str) -> None:
    data = write_xlsx(form, ROWS, t=ZH, period_label="2026年11月", unit="港口区12345中心", submitted="2026-12-01",
                      with_contacts=True)
    rows = _read(data)
    top = heading_row(FORMS[form])
    assert rows[top - 1] == EXPECTED_HEADINGS[form]
    assert len(rows) == top + len(ROWS)
    if form == "transfers":  # annex 3 has no 提报单位 line
        assert top == 2
    else:
        assert rows[1][0] == "提报单位：港口区12345中心" and rows[1][-1] == "提报时间：2026-12-01"
    assert [r[0] for r in rows[top:]] == [1, 2]


def test_ledger_rows_read_back() -> None:
    rows = _read(write_xlsx("ledger", ROWS, t=ZH, period_label="2026年11月", unit="U", submitted="2026-12-01",
                            with_contacts=True))
    assert rows[0][0] == "诉求问题台账（2026年11月）"
    assert rows[3] == [1, "张三", "#2026-000001 小区门口垃圾三天没人清运", "城市管理局", "@zhangsan", "领导包案：李局长"]
    # a formula-looking text stays text; a control character is dropped
    assert rows[4][2] == "#2026-000002 =HYPERLINK(\"http://x\")"
    ws = load_workbook(io.BytesIO(write_xlsx("satisfaction", ROWS, t=ZH, period_label="p", unit="U",
                                             submitted="d", with_contacts=True))).active
    assert ws.cell(4, 5).value == "1.非常满意" and ws.cell(5, 5).value == "未评价"
    assert all(c.data_type == "s" for c in ws[5] if isinstance(c.value, str))
    fb = _read(write_xlsx("feedback", ROWS, t=ZH, period_label="p", unit="U", submitted="d", with_contacts=True))
    assert fb[3] == [1, "张三", "#2026-000001 小区门口垃圾三天没人清运", "是", "已清运", "城市管理局", "王五 @wangwu",
                     "领导包案：李局长"]
    assert fb[4][3] == "否"
    un = _read(write_xlsx("unsatisfied", ROWS, t=ZH, period_label="p", unit="U", submitted="d", with_contacts=True))
    assert un[4] == [2, "#2026-000002", "=HYPERLINK(\"http://x\")", "住房和城乡建设局", "2026-11-20 09:00", "太慢了",
                     "重新办理中", "李四 @lisi"]


def test_without_contacts_personal_cells_stay_empty() -> None:
    for form in FORMS:
        data = write_xlsx(form, ROWS, t=ZH, period_label="p", unit="U", submitted="d", with_contacts=False)
        flat = [c for r in _read(data) for c in r if isinstance(c, str)]
        assert not any(s for s in flat if "张三" in s or "@zhangsan" in s or "@lisi" in s), form


def test_english_headings() -> None:
    rows = _read(write_xlsx("transfers", ROWS, t=EN, period_label="2026-11", unit="U", submitted="d",
                            with_contacts=True))
    assert rows[1] == ["No.", "Enterprise name", "Problem, difficulty or request", "Contact person and details",
                       "Department to solve it"]


def test_a_report_longer_than_a_message_goes_in_whole_lines_and_loses_nothing():
    """A 区 of 90 承办单位: the 通报 was cut at 4,096 characters, mid-ranking, without a word."""
    from datetime import datetime, timezone

    from bot.domain.rates import Figures
    from bot.domain.report import assemble
    from bot.services.notify import pieces

    names = {f"d{i:02d}": f"第{i}承办单位（区城市管理综合执法局）" for i in range(90)}
    figs = {c: Figures(dispatched=20, accepted=18, resolved=15, response_num=18, response_den=20,
                       resolution_num=15, resolution_den=20, by_level={4: 5, 3: 3, 2: 2, 1: 1}) for c in names}
    report = assemble(Period(2026, PeriodKind.MONTH, 11), TZ, datetime(2026, 12, 1, 2, tzinfo=timezone.utc), received=900,
                      figures=figs, worst=[], departments=list(names), weights=Weights())
    body = render(report, names, TZ, ZH)
    assert len(body) == 7005
    parts = pieces(body)
    assert len(parts) == 2 and all(len(p) <= 4096 for p in parts) and "\n".join(parts) == body
    assert all(len(p) + 1 + len(q.split("\n")[0]) > 4096 for p, q in zip(parts, parts[1:]))  # each one full
    assert pieces("短") == ["短"] and pieces("") == [""]
    assert pieces("a" * 5000 + "\nb") == ["a" * 4095 + "…", "b"]
