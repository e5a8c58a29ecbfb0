"""A report as PDF (A4), with reportlab: the CJK font embedded (subset), so Chinese shows on any
reader and its text can be searched and copied; charts as PNG."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable, Image, KeepTogether, SimpleDocTemplate, Spacer, TableStyle
from reportlab.platypus import Paragraph as Para
from reportlab.platypus import Table as Grid

from dutydesk.console.reports import drawing
from dutydesk.console.reports.document import Document, Fields, Figure, Heading, Paragraph, Table, Tone

FONT = "DutydeskCJK"
MARGIN = 18 * mm
INK, GREY, RED = colors.HexColor("#263238"), colors.HexColor("#607d8b"), colors.HexColor("#b71c1c")
ALERT_FILL, NOTE_FILL, HEAD_FILL = (
    colors.HexColor("#fdecea"),
    colors.HexColor("#fff8e1"),
    colors.HexColor("#eceff1"),
)


def _style(
    name: str,
    size: float,
    color: colors.Color = INK,
    *,
    before: float = 0,
    after: float = 0,
    heading: bool = False,
) -> ParagraphStyle:
    # wordWrap CJK: Chinese lines may break between any two characters
    return ParagraphStyle(
        name,
        fontName=FONT,
        fontSize=size,
        leading=size * 1.45,
        textColor=color,
        wordWrap="CJK",
        spaceBefore=before,
        spaceAfter=after,
        keepWithNext=heading,  # a heading never ends a page alone
    )


def _register(font: Path) -> None:
    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont(FONT, str(font), subfontIndex=0))


def pdf(document: Document, font: Path, progress: Callable[[int], None]) -> bytes:
    """`progress` hears of each page laid out."""
    _register(font)
    styles = {
        "title": _style("title", 18, after=4),
        "subtitle": _style("subtitle", 9, GREY, after=10),
        "mark": _style("mark", 10, RED, after=4),
        "h1": _style("h1", 13, before=12, after=6, heading=True),
        "h2": _style("h2", 11, before=8, after=4, heading=True),
        "plain": _style("plain", 9.5, after=4),
        "note": _style("note", 9, GREY, after=4),
        "alert": _style("alert", 9.5, RED, after=4),
        "cell": _style("cell", 8),
        "cell_alert": _style("cell_alert", 8, RED),
    }
    width = A4[0] - 2 * MARGIN
    story: list[Flowable] = [Para(_text(document.title), styles["title"])]
    if document.marks:
        story.append(Para(_text("  ".join(f"【{m}】" for m in document.marks)), styles["mark"]))
    story.append(Para(_text(document.subtitle), styles["subtitle"]))
    for block in document.blocks:
        match block:
            case Heading(text=text, level=level):
                story.append(Para(_text(text), styles[f"h{min(level, 2)}"]))
            case Paragraph(text=text, tone=tone):
                story.append(Para(_text(text), styles[tone]))
            case Fields(rows=rows):
                data = [[Para(_text(k), styles["cell"]), Para(_text(v), styles["cell"])] for k, v in rows]
                grid = Grid(data, colWidths=[width * 0.25, width * 0.75])
                grid.setStyle(_grid_style([("BACKGROUND", (0, 0), (0, -1), HEAD_FILL)]))
                story += [grid, Spacer(1, 6)]
            case Table(header=header, rows=rows, widths=widths):
                data = [[Para(_text(h), styles["cell"]) for h in header]]
                extra: list[Any] = [("BACKGROUND", (0, 0), (-1, 0), HEAD_FILL)]
                for n, row in enumerate(rows, start=1):
                    style = styles["cell_alert" if row.tone == "alert" else "cell"]
                    data.append([Para(_text(c), style) for c in row.cells])
                    if row.tone != "plain":
                        extra.append(("BACKGROUND", (0, n), (-1, n), _fill(row.tone)))
                whole = sum(widths)
                grid = Grid(data, colWidths=[width * w / whole for w in widths], repeatRows=1)
                grid.setStyle(_grid_style(extra))
                story += [grid, Spacer(1, 6)]
            case Figure(chart=chart, caption=caption):
                picture = drawing.png(chart, font)
                wide, high = ImageReader(io.BytesIO(picture)).getSize()
                scale = min(width / wide, (A4[1] - 4 * MARGIN) / high)
                image = Image(io.BytesIO(picture), width=wide * scale, height=high * scale)
                story.append(KeepTogether([image, Para(_text(caption), styles["note"])]))
    buffer = io.BytesIO()
    pages = 0

    def footer(canvas: Canvas, _: object) -> None:
        nonlocal pages
        pages += 1
        canvas.setFont(FONT, 7.5)
        canvas.setFillColor(GREY)
        canvas.drawString(MARGIN, 10 * mm, document.title)
        canvas.drawRightString(A4[0] - MARGIN, 10 * mm, str(pages))
        progress(pages)

    template = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=MARGIN,
        title=document.title,
        author="dutydesk",
        lang="zh-CN" if document.lang == "zh" else "en",
        invariant=True,  # no creation time or random id: the same report gives the same file
    )
    template.build(story, onFirstPage=footer, onLaterPages=footer)
    return buffer.getvalue()


def _text(text: str) -> str:
    """Plain text as reportlab's paragraph markup."""
    return escape(text).replace("\n", "<br/>")


def _fill(tone: Tone) -> colors.Color:
    return ALERT_FILL if tone == "alert" else NOTE_FILL


def _grid_style(extra: list[Any]) -> TableStyle:
    return TableStyle(
        [
            ("GRID", (0, 0), (-1, -1), 0.25, colors.HexColor("#b0bec5")),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("TOPPADDING", (0, 0), (-1, -1), 2),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
            *extra,
        ]
    )
