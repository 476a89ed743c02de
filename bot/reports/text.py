"""The report as chat text, and its chart's rows and labels.

Plain text (the outbox sends with parse_mode=None): one line per department in ranking
order, the overall figures, the worst overdue tickets; every word comes from the catalogs.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta, tzinfo
from fractions import Fraction

from bot.domain.codes import display
from bot.domain.periods import Period, PeriodKind
from bot.domain.rates import Figures
from bot.domain.report import HOTSPOTS_PER_AREA, Report
from bot.reports.chart import ChartRow, ChartText

Translate = Callable[..., str]


def period_label(period: Period, t: Translate) -> str:
    if period.kind is PeriodKind.MONTH:
        return t("period.label.month", y=period.year, m=period.index)
    if period.kind is PeriodKind.QUARTER:
        return t("period.label.quarter", y=period.year, q=period.index)
    if period.kind is PeriodKind.HALF:
        return t(f"period.label.half{period.index}", y=period.year)
    return t("period.label.year", y=period.year)


def percent(rate: Fraction | None) -> str:
    """One decimal, rounded half up (0.8125 → 81.3%); '—' when there is nothing to measure."""
    if rate is None:
        return "—"
    tenths = (rate * 1000 + Fraction(1, 2)).__floor__()
    return f"{tenths // 10}.{tenths % 10}%"


def rate_with_parts(rate: Fraction | None, num: int, den: int) -> str:
    return f"{percent(rate)} ({num}/{den})" if den else percent(None)


def points(score: Fraction | None) -> str:
    if score is None:
        return "—"
    tenths = (abs(score) * 10 + Fraction(1, 2)).__floor__()  # half away from zero
    sign = "-" if score < 0 and tenths else ""
    return f"{sign}{tenths // 10}.{tenths % 10}"


def duration(td: timedelta | None, t: Translate) -> str:
    """'2天3小时' / '2 d 3 h': the two largest non-zero units, minutes when under a day."""
    if td is None:
        return "—"
    minutes = int(td.total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    parts = []
    if days:
        parts.append(t("report.dur.d", n=days))
    if hours:
        parts.append(t("report.dur.h", n=hours))
    if mins and not days:
        parts.append(t("report.dur.m", n=mins))
    # The catalogs carry their own spacing ("2天3小时", "2 d 3 h").
    return ("".join(parts) if parts else t("report.dur.m", n=0)).strip()


def _figures_lines(f: Figures, t: Translate, received: int | None = None) -> list[str]:
    lines = []
    if received is not None:
        lines.append(t("report.counts.received", received=received))
    lines.append(t("report.counts", dispatched=f.dispatched, accepted=f.accepted, resolved=f.resolved,
                   overdue=f.overdue, returned=f.returned, reopened=f.reopened))
    lines.append(t("report.rates",
                   response=rate_with_parts(f.response_rate, f.response_num, f.response_den),
                   resolution=rate_with_parts(f.resolution_rate, f.resolution_num, f.resolution_den),
                   satisfaction=rate_with_parts(f.satisfaction_rate, f.satisfied, f.rated)))
    lines.append(t("report.ratings", very=f.by_level[4], fairly=f.by_level[3], basically=f.by_level[2],
                   unsatisfied=f.unsatisfied, not_rated=f.not_rated))
    lines.append(t("report.cards_times", yellow=f.yellow, red=f.red, accept=duration(f.avg_accept, t),
                   resolve=duration(f.avg_resolve, t)))
    return lines


def render(report: Report, names: dict[str, str], tz: tzinfo, t: Translate) -> str:
    """The whole report as one message (names: department code → name)."""
    label = period_label(report.period, t)
    as_of = report.as_of.astimezone(tz).strftime("%Y-%m-%d %H:%M")
    title_key = f"report.title.{report.period.kind.value}"
    lines = [t(title_key, period=label), t("report.as_of" if report.complete else "report.to_date", at=as_of), ""]
    lines.append(t("report.overall"))
    lines += _figures_lines(report.total, t, report.received)
    w = report.weights
    lines += ["", t("report.ranking", response=_w(w.response), resolution=_w(w.resolution),
                    satisfaction=_w(w.satisfaction), penalty=_w(w.red_card_penalty))]
    for p in report.ranked:
        f = p.figures
        lines.append(t("report.place", pos=p.position, name=names.get(p.dept, p.dept), score=points(p.score),
                       response=percent(f.response_rate), resolution=percent(f.resolution_rate),
                       satisfaction=percent(f.satisfaction_rate), dispatched=f.dispatched, overdue=f.overdue,
                       red=f.red))
    if not report.ranked:
        lines.append(t("report.nobody_ranked"))
    if report.unranked:
        sep = t("report.list_sep")
        lines.append(t("report.unranked", names=sep.join(names.get(p.dept, p.dept) for p in report.unranked)))
    if report.bottom:
        # Seed 002: the year's last two write a review (年度测评后两位…写出书面检查); the half-year
        # ranking names them without that demand.
        key = "report.bottom" if report.period.kind is PeriodKind.YEAR else "report.bottom_half"
        lines += ["", t(key, names=t("report.list_sep").join(names.get(p.dept, p.dept) for p in report.bottom))]
    lines += ["", t("report.worst")]
    for o in report.worst:
        lines.append(t(f"report.worst.{o.outcome}", code=display(o.ticket_code), name=names.get(o.dept, o.dept), late=duration(o.late_by, t)))
    if not report.worst:
        lines.append(t("report.worst.none"))
    lines += ["", *_matter_lines(report, names, tz, t)]
    return "\n".join(lines)


def _matter_lines(report: Report, names: dict[str, str], tz: tzinfo, t: Translate) -> list[str]:
    """一类事: the top 高频共性 groups of each area (hottest area first), then the 专项 in progress."""
    lines = [t("report.hotspots", n=HOTSPOTS_PER_AREA)]
    by_area: dict[str, list[str]] = {}
    for h in report.hotspots:
        key = "report.hotspot_item_support" if h.support else "report.hotspot_item"
        by_area.setdefault(h.area, []).append(t(key, category=h.category, count=h.tickets, support=h.support))
    for area, items in by_area.items():
        lines.append(t("report.hotspot_area", area=area, items=t("report.item_sep").join(items)))
    if not report.hotspots:
        lines.append(t("report.hotspots.none"))
    lines += ["", t("report.campaigns")]
    for c in report.campaigns:
        lines.append(t("report.campaign", id=c.id, area=c.area, category=c.category, dept=names.get(c.dept, c.dept),
                       deadline=c.deadline.astimezone(tz).strftime("%Y-%m-%d"), count=c.tickets, solved=c.solved))
    if not report.campaigns:
        lines.append(t("report.campaigns.none"))
    return lines


def _w(value: Fraction) -> str:
    return f"{float(value):g}"


def chart_rows(report: Report, names: dict[str, str]) -> list[ChartRow]:
    """The ranked departments, in ranking order (unranked ones have nothing to draw)."""
    return [ChartRow(names.get(p.dept, p.dept), p.figures.response_rate, p.figures.resolution_rate,
                     p.figures.satisfaction_rate) for p in report.ranked]


def chart_text(report: Report, t: Translate) -> ChartText:
    return ChartText(
        title=t("chart.title", period=period_label(report.period, t)),
        series=(t("chart.response"), t("chart.resolution"), t("chart.satisfaction")),
        axis=t("chart.axis"), empty=t("chart.empty"),
    )
