"""The chart of a report: the three rates per department as grouped bars (PNG, matplotlib Agg).

Every piece of text is drawn with the packaged CJK font (bot.reports.fonts), set explicitly on
each text object so nothing falls back to a system font. Uses `Figure` + the Agg canvas, never
pyplot: no global state, safe to call from a worker thread.
"""
from __future__ import annotations

import io
from dataclasses import dataclass
from fractions import Fraction

import matplotlib

matplotlib.use("Agg")

from matplotlib import font_manager  # noqa: E402
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from bot.reports.fonts import cjk_font_path  # noqa: E402

COLOURS = ("#3b6fb6", "#e08a2c", "#3a9e5c")  # response, resolution, satisfaction


@dataclass(frozen=True)
class ChartRow:
    name: str
    response: Fraction | None
    resolution: Fraction | None
    satisfaction: Fraction | None


@dataclass(frozen=True)
class ChartText:
    title: str
    series: tuple[str, str, str]  # legend names of the three rates
    axis: str  # the y axis, e.g. "%"
    empty: str  # shown when there is no department to draw


def font_properties(size: float | None = None) -> font_manager.FontProperties:
    return font_manager.FontProperties(fname=str(cjk_font_path()), size=size)


# Telegram takes a photo whose width + height is at most 10,000 px and whose sides differ at most
# 20 times, and shows it at about 1,280 px. Side by side, the bars of a district's 90 承办单位 made a
# picture 11,900 px wide: above that many the departments go one under another instead, in a
# picture that grows in height up to a bound (DPI 100: inches × 100 = px).
SIDE_BY_SIDE_MAX = 12
TALLEST = 80.0


def _values(rows: list[ChartRow], s: int) -> tuple[list[float], list[str]]:
    """One series' bar lengths (0 for no figure) and labels ("-" for none)."""
    values = [(row.response, row.resolution, row.satisfaction)[s] for row in rows]
    return ([float(v * 100) if v is not None else 0.0 for v in values],
            [f"{float(v * 100):.0f}" if v is not None else "-" for v in values])


def build_figure(rows: list[ChartRow], text: ChartText) -> Figure:
    """The figure, not yet rendered (tests inspect its text objects)."""
    if len(rows) > SIDE_BY_SIDE_MAX:
        return _one_under_another(rows, text)
    width = max(6.0, 1.3 * len(rows) + 2.0)
    fig = Figure(figsize=(width, 4.8), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    fp, small = font_properties(13), font_properties(8)
    ax.set_title(text.title, fontproperties=fp)
    ax.set_ylabel(text.axis, fontproperties=font_properties(10))
    ax.set_ylim(0, 128)  # headroom for the legend above 100 %
    if not rows:
        ax.text(0.5, 0.5, text.empty, transform=ax.transAxes, ha="center", va="center", fontproperties=fp)
        ax.set_xticks([])
    bar = 0.26
    for s, (series, colour) in enumerate(zip(text.series, COLOURS)):
        hs, labels = _values(rows, s)
        bars = ax.bar([i + (s - 1) * bar for i in range(len(rows))], hs, width=bar, color=colour, label=series)
        ax.bar_label(bars, labels=labels, padding=1, fontproperties=small)
    if rows:
        ax.set_xticks(range(len(rows)))
        ax.set_xticklabels([r.name for r in rows], rotation=20 if len(rows) > 4 else 0, ha="right" if len(rows) > 4 else "center")
        ax.legend(prop=font_properties(9), loc="upper center", ncols=3, frameon=False)
    for label in (*ax.get_xticklabels(), *ax.get_yticklabels()):
        label.set_fontproperties(font_properties(9))
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    return fig


def _one_under_another(rows: list[ChartRow], text: ChartText) -> Figure:
    """Many departments: horizontal bars, the first department at the top."""
    per_row = min(0.45, (TALLEST - 1.8) / len(rows))
    fig = Figure(figsize=(10.0, 1.8 + per_row * len(rows)), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.set_title(text.title, fontproperties=font_properties(13), pad=26)  # room for the legend below it
    ax.set_xlabel(text.axis, fontproperties=font_properties(10))
    ax.set_xlim(0, 112)
    bar = 0.26
    for s, (series, colour) in enumerate(zip(text.series, COLOURS)):
        ws, labels = _values(rows, s)
        bars = ax.barh([i + (s - 1) * bar for i in range(len(rows))], ws, height=bar, color=colour, label=series)
        ax.bar_label(bars, labels=labels, padding=1, fontproperties=font_properties(6))
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels([r.name for r in rows])
    ax.set_ylim(len(rows) - 0.5, -0.5)
    ax.legend(prop=font_properties(9), loc="lower center", bbox_to_anchor=(0.5, 1.0), ncols=3, frameon=False)
    for label in (*ax.get_xticklabels(), *ax.get_yticklabels()):
        label.set_fontproperties(font_properties(8))
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    return fig


def render_png(rows: list[ChartRow], text: ChartText) -> bytes:
    fig = build_figure(rows, text)
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()
