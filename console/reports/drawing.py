"""Charts as pictures, with matplotlib: SVG for HTML (text as outlines, so Chinese shows without
the reader's fonts), PNG for PDF and DOCX. No pyplot: each figure is a plain object, nothing global.
"""

from __future__ import annotations

import functools
import io
import math
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import matplotlib as mpl
from matplotlib import font_manager
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

from dutydesk.console.reports import linebreak
from dutydesk.console.reports.charts import Bars, Chart, Series, Timeline

WIDTH = 8.0  # inches: the text width of an A4 page
ALLOWED, DONE, LATE, INK = "#cfe0f5", "#2e7d32", "#c62828", "#37474f"
FIRST_MINUTE = 0.5  # the log axis starts here; anything earlier is drawn from it


@functools.cache
def _family(font: Path) -> str:
    font_manager.fontManager.addfont(str(font))
    return str(font_manager.FontProperties(fname=str(font)).get_name())


@contextmanager
def _style(font: Path) -> Iterator[None]:
    with mpl.rc_context(
        {
            "font.family": "sans-serif",
            "font.sans-serif": [_family(font), "DejaVu Sans"],
            "font.size": 9,
            "axes.unicode_minus": False,
            "svg.fonttype": "path",
            "svg.hashsalt": "dutydesk",  # the same chart gives the same SVG
        }
    ):
        yield


def svg(chart: Chart, font: Path) -> str:
    with _style(font):
        buffer = io.StringIO()
        _draw(chart).savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    text = buffer.getvalue()
    return text[text.index("<svg") :]  # inline in HTML: no XML declaration or doctype


def png(chart: Chart, font: Path, dpi: int = 200) -> bytes:
    with _style(font):
        buffer = io.BytesIO()
        _draw(chart).savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    return buffer.getvalue()


def _draw(chart: Chart) -> Figure:
    match chart:
        case Timeline():
            return _timeline(chart)
        case Bars():
            return _bars(chart)
        case Series():
            return _series(chart)


def _wrap(label: str, width: int = 36) -> str:
    """By the reports' line-breaking rules: a Chinese label breaks between characters, never
    inside 《》 or a token; an English one at spaces. East Asian characters count double."""

    def measure(text: str) -> float:
        return sum(2 if ord(char) > 0x2E7F else 1 for char in text)

    return "\n".join(linebreak.lines(label, width, measure)) or label


def _timeline(chart: Timeline) -> Figure:
    figure = Figure(figsize=(WIDTH, 1.2 + 0.45 * len(chart.rows)))
    ax = figure.subplots()
    windows: dict[int, list[tuple[float, float]]] = {}
    done_x: list[float] = []
    done_y: list[int] = []
    late_x: list[float] = []
    late_y: list[int] = []
    overdue: dict[int, list[tuple[float, float]]] = {}
    right = max([FIRST_MINUTE * 4, chart.now, *(s.due for s in chart.spans)])
    for span in chart.spans:
        start = max(span.start, FIRST_MINUTE)
        windows.setdefault(span.row, []).append((start, max(span.due - start, 0.0)))
        if span.done is not None:
            x = max(span.done, FIRST_MINUTE)
            (late_x if span.late else done_x).append(x)
            (late_y if span.late else done_y).append(span.row)
        elif span.late:
            overdue.setdefault(span.row, []).append((span.due, max(chart.now - span.due, 0.0)))
            late_x.append(span.due)
            late_y.append(span.row)
    for row, bars in windows.items():
        ax.broken_barh(
            _merged(bars), (row - 0.25, 0.5), facecolors=ALLOWED, edgecolors="#7aa6d8", linewidth=0.5
        )
    for row, bars in overdue.items():
        ax.broken_barh(bars, (row - 0.08, 0.16), facecolors=LATE)
    ax.scatter(*_visible(done_x, done_y), marker="o", s=22, color=DONE, zorder=3)
    ax.scatter(*_visible(late_x, late_y), marker="X", s=36, color=LATE, zorder=3)
    ax.set_xscale("log")
    ax.set_xlim(FIRST_MINUTE, right * 1.6)
    ax.set_ylim(len(chart.rows) - 0.5, -0.5)
    ax.set_yticks(range(len(chart.rows)), [_wrap(r) for r in chart.rows])
    ticks = [(x, label) for x, label in chart.ticks if FIRST_MINUTE <= x <= right * 1.6]
    ax.set_xticks([x for x, _ in ticks], [label for _, label in ticks])
    ax.minorticks_off()
    ax.set_xlabel(chart.axis)
    ax.grid(axis="x", color="#e0e0e0", linewidth=0.6)
    ax.set_axisbelow(True)
    allowed, met, late = chart.legend
    handles = [
        Patch(facecolor=ALLOWED, edgecolor="#7aa6d8", label=allowed),
        Line2D([], [], marker="o", linestyle="", color=DONE, label=met),
        Line2D([], [], marker="X", linestyle="", color=LATE, label=late),
    ]
    ax.legend(handles=handles, loc="lower left", bbox_to_anchor=(0, 1.0), ncol=3, fontsize=8, frameon=False)
    _tidy(ax)
    return figure


def _merged(bars: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Overlapping (start, width) windows as one: an hourly report met every ten minutes for five
    weeks is a single band, not five thousand rectangles."""
    out: list[tuple[float, float]] = []
    for start, width in sorted(bars):
        if out and start <= out[-1][0] + out[-1][1]:
            first, span = out[-1]
            out[-1] = (first, max(span, start + width - first))
        else:
            out.append((start, width))
    return out


def _visible(xs: list[float], ys: list[int]) -> tuple[list[float], list[int]]:
    """One marker per spot the eye can tell apart (a thousandth of the axis, logarithmically)."""
    seen: dict[tuple[int, int], tuple[float, int]] = {}
    for x, y in zip(xs, ys, strict=True):
        seen.setdefault((y, round(math.log10(x) * 300)), (x, y))
    return [x for x, _ in seen.values()], [y for _, y in seen.values()]


def _bars(chart: Bars) -> Figure:
    figure = Figure(figsize=(WIDTH, 0.8 + 0.38 * max(len(chart.labels), 2)))
    ax = figure.subplots()
    rows = range(len(chart.labels))
    short = [chart.target is not None and value < chart.target for value in chart.values]
    ax.barh(rows, chart.values, height=0.6, color=[LATE if s else "#5b8cc4" for s in short])
    ax.set_yticks(rows, [_wrap(label, 44) for label in chart.labels])
    ax.set_ylim(len(chart.labels) - 0.5, -0.5)
    top = max([*chart.values, chart.target or 0.0, 1.0])
    ax.set_xlim(0, 100 if chart.percent else top * 1.15)
    if not chart.percent:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    for row, value in zip(rows, chart.values, strict=True):
        ax.text(value, row, f" {value:.1f}%" if chart.percent else f" {value:g}", va="center", fontsize=8)
    if chart.target is not None:
        ax.axvline(chart.target, color=INK, linestyle="--", linewidth=1)
        ax.text(chart.target, -0.45, f" {chart.target_label}", fontsize=8, color=INK, va="top")
    ax.set_xlabel(chart.axis)
    _tidy(ax)
    return figure


def _series(chart: Series) -> Figure:
    figure = Figure(figsize=(WIDTH, 2.8))
    ax = figure.subplots()
    ax.bar(range(len(chart.days)), chart.values, width=0.8, color="#5b8cc4")
    # a dated tick at least every week (every few days over a short period, month starts over a
    # year), always the first day, so the axis reads as dates whatever the period
    count = len(chart.days)
    if count > 62:
        ticks = [n for n, day in enumerate(chart.days) if day.day == 1 or n == 0]
    else:
        step = max(1, round(count / 10))
        ticks = list(range(0, count, step))
    ax.set_xticks(ticks, [chart.days[n].strftime("%m-%d") for n in ticks])
    ax.set_xlim(-0.6, count - 0.4)
    ax.set_ylabel(chart.axis)
    ax.set_xlabel(chart.dates)
    ax.grid(axis="y", color="#e0e0e0", linewidth=0.6)
    ax.set_axisbelow(True)
    _tidy(ax)
    return figure


def _tidy(ax: Axes) -> None:
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
