"""A report as a Word document (DOCX) with python-docx: real headings, tables and pictures, so it
opens in Word or WPS as an ordinary editable document."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import docx
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt, RGBColor
from docx.table import Table as DocxTable
from docx.table import _Cell
from docx.text.paragraph import Paragraph as DocxParagraph

from dutydesk.console.reports import drawing
from dutydesk.console.reports.document import Document, Fields, Figure, Heading, Paragraph, Table, Tone

BODY_FONT, HEADING_FONT = "宋体", "黑体"  # SimSun and SimHei: what Word and WPS in China have
RED, GREY = RGBColor(0xB7, 0x1C, 0x1C), RGBColor(0x60, 0x7D, 0x8B)
FILLS = {"alert": "FDECEA", "note": "FFF8E1", "head": "ECEFF1"}
TEXT_WIDTH = Cm(16)
PROGRESS_EVERY = 500  # table rows


def docx_bytes(document: Document, font: Path, progress: Callable[[int], None]) -> bytes:
    """`progress` hears of the table rows written so far."""
    out = docx.Document()
    _fonts(out)
    props = out.core_properties
    props.title, props.author, props.language = (
        document.title,
        "dutydesk",
        "zh-CN" if document.lang == "zh" else "en",
    )
    out.add_heading(document.title, level=0)
    if document.marks:
        run = out.add_paragraph().add_run("  ".join(f"【{m}】" for m in document.marks))
        run.bold, run.font.color.rgb = True, RED
    _tone(out.add_paragraph(document.subtitle), "note")
    rows_done = 0
    for block in document.blocks:
        match block:
            case Heading(text=text, level=level):
                out.add_heading(text, level=level)
            case Paragraph(text=text, tone=tone):
                _tone(out.add_paragraph(text), tone)
            case Fields(rows=rows):
                table = out.add_table(rows=0, cols=2, style="Table Grid")
                for label, value in rows:
                    _shade(_row(table, (label, value))[0], FILLS["head"])
                table.columns[0].width, table.columns[1].width = Cm(4), Cm(12)
            case Table(header=header, rows=rows, widths=widths):
                table = out.add_table(rows=0, cols=len(header), style="Table Grid")
                for cell in _row(table, header):
                    _shade(cell, FILLS["head"])
                    cell.paragraphs[0].runs[0].bold = True
                _repeat_header(table)
                for row in rows:
                    cells = _row(table, row.cells)
                    if row.tone != "plain":
                        for cell in cells:
                            _shade(cell, FILLS[row.tone])
                            _tone(cell.paragraphs[0], row.tone)
                    rows_done += 1
                    if rows_done % PROGRESS_EVERY == 0:
                        progress(rows_done)
                whole = sum(widths)
                for column, share in zip(table.columns, widths, strict=True):
                    column.width = int(TEXT_WIDTH * share / whole)
            case Figure(chart=chart, caption=caption):
                out.add_picture(io.BytesIO(drawing.png(chart, font)), width=TEXT_WIDTH)
                out.paragraphs[-1].alignment = WD_ALIGN_PARAGRAPH.CENTER
                out.add_paragraph(caption, style="Caption")
    progress(rows_done)
    buffer = io.BytesIO()
    out.save(buffer)
    return buffer.getvalue()


def _fonts(out: docx.document.Document) -> None:
    """Chinese text takes the East Asian font, which python-docx does not set by itself."""
    for name in ("Normal", "Title", "Heading 1", "Heading 2", "Caption"):
        style = out.styles[name]
        east_asian = BODY_FONT if name in ("Normal", "Caption") else HEADING_FONT
        rpr = style.element.get_or_add_rPr()
        fonts = rpr.find(qn("w:rFonts"))
        if fonts is None:
            fonts = OxmlElement("w:rFonts")
            rpr.append(fonts)
        fonts.set(qn("w:eastAsia"), east_asian)
    out.styles["Normal"].font.size = Pt(10.5)  # 五号


def _row(table: DocxTable, texts: tuple[str, ...]) -> list[_Cell]:
    # through the row's own cells: `row.cells` walks the whole table each time, which makes a
    # table of thousands of rows take minutes
    row = table.add_row()  # type: ignore[no-untyped-call]
    cells = [_Cell(tc, table) for tc in row._tr.tc_lst]
    for cell, text in zip(cells, texts, strict=True):
        cell.text = text
    return cells


def _repeat_header(table: DocxTable) -> None:
    """The header row repeats at the top of every page."""
    tr_pr = table.rows[0]._tr.get_or_add_trPr()
    mark = OxmlElement("w:tblHeader")
    mark.set(qn("w:val"), "true")
    tr_pr.append(mark)


def _shade(cell: _Cell, fill: str) -> None:
    shading = OxmlElement("w:shd")
    shading.set(qn("w:val"), "clear")
    shading.set(qn("w:fill"), fill)
    cell._tc.get_or_add_tcPr().append(shading)


def _tone(paragraph: DocxParagraph, tone: Tone) -> None:
    for run in paragraph.runs:
        if tone == "alert":
            run.font.color.rgb = RED
        elif tone == "note":
            run.font.color.rgb = GREY
