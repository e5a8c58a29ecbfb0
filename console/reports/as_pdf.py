"""A report as PDF laid out after GB/T 9704-2012 (党政机关公文格式), with reportlab: A4, text block
156 × 225 mm, 2号 title, 3号 body at 22 lines a page, 黑体 and 楷体 headings, "— 1 —" page numbers,
the 版头 and the 版记; the TrueType faces embedded (subset), so the text can be searched and copied.
Lines are broken by `linebreak` (Chinese rules, whole tokens), not by reportlab."""

from __future__ import annotations

import io
import zlib
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    BaseDocTemplate,
    Flowable,
    Frame,
    Image,
    KeepTogether,
    PageTemplate,
    Spacer,
    TableStyle,
)
from reportlab.platypus import Paragraph as Para
from reportlab.platypus import Table as Grid
from reportlab.platypus.flowables import CondPageBreak, HRFlowable, TopPadder

from dutydesk.console.reports import drawing, linebreak
from dutydesk.console.reports.document import Colophon, Document, Fields, Figure, Heading, Paragraph, Table
from dutydesk.console.reports.fonts import Faces

# GB/T 9704-2012 5.2: margins (binding side left), 3号 = 16 pt, 22 lines in 225 mm
TOP, BOTTOM, LEFT, RIGHT = 37 * mm, 35 * mm, 28 * mm, 26 * mm
WIDTH = A4[0] - LEFT - RIGHT  # 156 mm
BODY, TITLE, SMALL, CELL = 16.0, 22.0, 14.0, 10.5  # 3号, 2号, 4号, 五号
LEADING = (A4[1] - TOP - BOTTOM) / 22
INK, GREY, RED = colors.black, colors.HexColor("#546e7a"), colors.HexColor("#c00000")
ALERT_FILL, NOTE_FILL, HEAD_FILL = colors.HexColor("#fdecea"), colors.HexColor("#fff8e1"), colors.white
FACES = ("title", "body", "heading", "kai")
LATIN, LATIN_SANS = "Times-Roman", "Helvetica"  # the PDF's standard faces: every reader has them


@cache
def _register(path: Path) -> str:
    """One registration per file: title and body in the same face embed it once."""
    name = f"Dutydesk-{zlib.crc32(str(path).encode()):08x}"  # the same in every run
    pdfmetrics.registerFont(TTFont(name, str(path), subfontIndex=0))
    return name


def _covered(name: str) -> frozenset[int]:
    font = pdfmetrics.getFont(name)
    assert isinstance(font, TTFont)
    return frozenset(font.face.charToGlyph)


class _Writer:
    """The faces registered, the styles, and text turned into finished lines."""

    def __init__(self, faces: Faces) -> None:
        self.font = {face: _register(getattr(faces, face)) for face in FACES}
        self.covered = {face: _covered(self.font[face]) for face in FACES}

    def style(self, face: str, size: float, color: colors.Color = INK, **options: Any) -> ParagraphStyle:
        leading = options.pop("leading", LEADING if size == BODY else size * 1.35)
        return ParagraphStyle(
            f"{face}{size}",
            fontName=self.font[face],
            fontSize=size,
            leading=leading,
            textColor=color,
            **options,
        )

    def para(self, text: str, style: ParagraphStyle, width: float = WIDTH) -> Para:
        """The text broken into lines here, each set in runs of the right face."""
        face = next(f for f in FACES if self.font[f] == style.fontName)
        size = style.fontSize

        def measure(line: str) -> float:
            return sum(pdfmetrics.stringWidth(run, font, size) for font, run in self.runs(line, face))

        usable = width - style.leftIndent - style.rightIndent - 0.5  # reportlab's own rounding
        broken = linebreak.lines(text, usable, measure, first=usable - style.firstLineIndent)
        markup = (
            "".join(f'<font name="{font}">{escape(run)}</font>' for font, run in self.runs(line, face))
            for line in broken
        )
        return Para("<br/>".join(markup), style)

    def runs(self, line: str, face: str) -> list[tuple[str, str]]:
        """(font, text) runs: Latin text in a Latin face (the CJK faces' Latin letters are
        typewriter-like), a character the face lacks in the 黑体 face, which covers the most."""
        out: list[tuple[str, str]] = []
        covered = self.covered[face]
        for char in line:
            if ord(char) < 0x2000:
                font = LATIN_SANS if face == "heading" else LATIN
            else:
                font = self.font[face] if ord(char) in covered else self.font["heading"]
            if out and out[-1][0] == font:
                out[-1] = (font, out[-1][1] + char)
            else:
                out.append((font, char))
        return out


def pdf(document: Document, faces: Faces, progress: Callable[[int], None]) -> bytes:
    """`progress` hears of each page laid out."""
    w = _Writer(faces)
    s = {
        "unit": w.style("title", 26, RED, alignment=TA_CENTER, leading=34),
        "number": w.style("body", BODY, alignment=TA_CENTER),
        "title": w.style("title", TITLE, alignment=TA_CENTER, leading=TITLE * 1.5, spaceBefore=LEADING),
        "subtitle": w.style("body", 10.5, GREY, alignment=TA_CENTER, spaceAfter=LEADING * 0.6),
        "mark": w.style("heading", SMALL, RED, alignment=TA_CENTER),
        "h1": w.style("heading", BODY),
        "h2": w.style("kai", BODY, firstLineIndent=2 * BODY),
        "plain": w.style("body", BODY, firstLineIndent=2 * BODY),
        "note": w.style("body", SMALL, GREY, firstLineIndent=2 * SMALL),
        "alert": w.style("body", BODY, RED, firstLineIndent=2 * BODY),
        "cell": w.style("body", CELL),
        "cell_head": w.style("heading", CELL),
        "cell_alert": w.style("body", CELL, RED),
        "caption": w.style("body", SMALL, alignment=TA_CENTER),
        "signature": w.style("body", BODY, alignment=TA_RIGHT, rightIndent=2 * BODY),
        "colophon": w.style("body", SMALL, leftIndent=SMALL, rightIndent=SMALL),
    }
    story: list[Flowable] = []
    if document.letterhead:
        story.append(w.para(document.letterhead.unit, s["unit"]))
        if document.letterhead.number:
            story += [Spacer(1, LEADING), w.para(document.letterhead.number, s["number"])]
        story.append(HRFlowable(width="100%", thickness=1.2, color=RED, spaceBefore=4 * mm, spaceAfter=0))
    story.append(w.para(document.title, s["title"]))
    if document.marks:
        story.append(w.para("  ".join(f"【{m}】" for m in document.marks), s["mark"]))
    story.append(w.para(document.subtitle, s["subtitle"]))
    for block in document.blocks:
        match block:
            case Heading(text=text, level=level):
                # a heading never ends a page alone: with less than three lines left, a new page
                # (keeping it with the whole next block would push a long table to the next page)
                story += [CondPageBreak(3 * LEADING), w.para(text, s["h1" if level == 1 else "h2"])]
            case Paragraph(text=text, tone=tone, indent=indent):
                style = s[tone] if indent else ParagraphStyle(f"{tone}-flush", s[tone], firstLineIndent=0)
                story.append(w.para(text, style))
            case Fields(rows=rows):
                pair = (WIDTH * 0.28, WIDTH * 0.72)
                data = [_cells(w, (k, v), pair, s["cell_head"], s["cell"]) for k, v in rows]
                story += [_grid(data, pair, []), Spacer(1, LEADING / 2)]
            case Table(header=header, rows=rows, widths=shares):
                whole = sum(shares)
                widths = tuple(WIDTH * share / whole for share in shares)
                data = [_cells(w, header, widths, s["cell_head"], s["cell_head"])]
                extra: list[Any] = []
                for n, row in enumerate(rows, start=1):
                    style = s["cell_alert" if row.tone == "alert" else "cell"]
                    data.append(_cells(w, row.cells, widths, style, style))
                    if row.tone != "plain":
                        extra.append(
                            ("BACKGROUND", (0, n), (-1, n), ALERT_FILL if row.tone == "alert" else NOTE_FILL)
                        )
                story += [_grid(data, widths, extra, repeat=1), Spacer(1, LEADING / 2)]
            case Figure(chart=chart, caption=caption):
                picture = drawing.png(chart, faces.heading)
                wide, high = ImageReader(io.BytesIO(picture)).getSize()
                scale = min(WIDTH / wide, (A4[1] - TOP - BOTTOM) * 0.8 / high)
                image = Image(io.BytesIO(picture), width=wide * scale, height=high * scale)
                story.append(KeepTogether([image, w.para(caption, s["caption"])]))
    if document.signature:
        story.append(Spacer(1, LEADING))
        story += [w.para(line, s["signature"]) for line in document.signature]
    if document.colophon:
        story.append(TopPadder(_colophon(w, document.colophon, s["colophon"])))
    return _build(document, story, w, progress)


def _cells(
    w: _Writer, texts: tuple[str, ...], widths: tuple[float, ...], first: ParagraphStyle, rest: ParagraphStyle
) -> list[Para]:
    padding = 2 * 3  # LEFTPADDING and RIGHTPADDING
    return [
        w.para(text, first if n == 0 else rest, width - padding)
        for n, (text, width) in enumerate(zip(texts, widths, strict=True))
    ]


def _grid(data: list[list[Para]], widths: tuple[float, ...], extra: list[Any], repeat: int = 0) -> Grid:
    grid = Grid(data, colWidths=list(widths), repeatRows=repeat)
    grid.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.5, INK),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("LEFTPADDING", (0, 0), (-1, -1), 3),
                ("RIGHTPADDING", (0, 0), (-1, -1), 3),
                ("TOPPADDING", (0, 0), (-1, -1), 2),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
                *extra,
            ]
        )
    )
    return grid


def _colophon(w: _Writer, colophon: Colophon, style: ParagraphStyle) -> Grid:
    """版记: 抄送 between a thick and a thin rule, then the printing unit and date, thick rule under."""
    printed = ParagraphStyle("printed_on", parent=style, alignment=TA_RIGHT)
    data: list[list[Para | str]] = [
        [w.para(colophon.copy_to, style), ""],
        [w.para(colophon.printed_by, style), w.para(colophon.printed_on, printed)],
    ]
    grid = Grid(data, colWidths=[WIDTH * 0.6, WIDTH * 0.4])
    grid.setStyle(
        TableStyle(
            [
                ("SPAN", (0, 0), (1, 0)),
                ("LINEABOVE", (0, 0), (-1, 0), 1, INK),
                ("LINEBELOW", (0, 0), (-1, 0), 0.5, INK),
                ("LINEBELOW", (0, 1), (-1, 1), 1, INK),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("RIGHTPADDING", (0, 0), (-1, -1), 0),
            ]
        )
    )
    return grid


def _build(document: Document, story: list[Flowable], w: _Writer, progress: Callable[[int], None]) -> bytes:
    buffer = io.BytesIO()
    pages = 0

    def page_number(canvas: Canvas, _: object) -> None:
        """ "— 1 —" in 4号 7 mm under the text block: odd pages right, even pages left, one
        character in from the edge (GB/T 9704-2012 7.5)."""
        nonlocal pages
        pages += 1
        canvas.setFont(w.font["body"], SMALL)
        canvas.setFillColor(INK)
        text, y = f"— {pages} —", BOTTOM - 7 * mm - SMALL
        if pages % 2:
            canvas.drawRightString(A4[0] - RIGHT - SMALL, y, text)
        else:
            canvas.drawString(LEFT + SMALL, y, text)
        progress(pages)

    template = BaseDocTemplate(
        buffer,
        pagesize=A4,
        title=document.title,
        author="dutydesk",
        lang="zh-CN" if document.lang == "zh" else "en",
        invariant=True,  # no creation time or random id: the same report gives the same file
    )
    # no frame padding: it would shrink the 156 × 225 mm text block
    frame = Frame(LEFT, BOTTOM, WIDTH, A4[1] - TOP - BOTTOM, 0, 0, 0, 0, id="text")
    template.addPageTemplates([PageTemplate("page", [frame], onPage=page_number)])
    template.build(story)
    return buffer.getvalue()
