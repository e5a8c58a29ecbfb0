"""A report as a Word document (DOCX) with python-docx, laid out after GB/T 9704-2012: A4 with its
margins, the customary faces named for East Asian text (方正小标宋简体, 仿宋_GB2312, 黑体,
楷体_GB2312; Word and WPS on the office's PCs have them), black headings, "— 1 —" page numbers
in the footer, the 版头 and the 版记. It opens as an ordinary editable document."""

from __future__ import annotations

import io
import re
from collections.abc import Callable

import docx
from docx.enum.section import WD_SECTION_START
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.oxml.xmlchemy import BaseOxmlElement
from docx.shared import Emu, Mm, Pt, RGBColor
from docx.table import Table as DocxTable
from docx.table import _Cell
from docx.text.paragraph import Paragraph as DocxParagraph

from dutydesk.console.reports import drawing
from dutydesk.console.reports.document import (
    Colophon,
    Document,
    Fields,
    Figure,
    Heading,
    Paragraph,
    Table,
    Tone,
)
from dutydesk.console.reports.fonts import OFFICE_NAMES, Faces

LATIN = "Times New Roman"
BLACK, RED, GREY = RGBColor(0, 0, 0), RGBColor(0xC0, 0x00, 0x00), RGBColor(0x54, 0x6E, 0x7A)
FILLS = {"alert": "FDECEA", "note": "FFF8E1"}
TEXT_WIDTH = Mm(156)
LEADING = Pt(28.95)  # 22 lines in the 225 mm text block
BODY, TITLE, SMALL, CELL = Pt(16), Pt(22), Pt(14), Pt(10.5)  # 3号, 2号, 4号, 五号
PROGRESS_EVERY = 500  # table rows
JOINED_HYPHEN = re.compile(r"(?<=[0-9A-Za-z])-(?=[0-9A-Za-z])")


# one pass over the document's blocks, a case per block: one piece on purpose
def docx_bytes(document: Document, faces: Faces, progress: Callable[[int], None]) -> bytes:  # noqa: C901
    """`progress` hears of the table rows written so far."""
    out = docx.Document()
    _page(out)
    _styles(out)
    props = out.core_properties
    props.title, props.author, props.language = (
        document.title,
        "dutydesk",
        "zh-CN" if document.lang == "zh" else "en",
    )
    w = _Writer(out)
    if document.letterhead:
        w.line(document.letterhead.unit, "title", Pt(26), RED, align=WD_ALIGN_PARAGRAPH.CENTER)
        if document.letterhead.number:
            w.line("", "body")
            w.line(document.letterhead.number, "body", align=WD_ALIGN_PARAGRAPH.CENTER)
        _rule(out.paragraphs[-1], "bottom", 12, "C00000")
    w.line("", "body")
    w.line(document.title, "title", TITLE, align=WD_ALIGN_PARAGRAPH.CENTER)
    if document.marks:
        w.line(
            "  ".join(f"【{m}】" for m in document.marks),
            "heading",
            SMALL,
            RED,
            align=WD_ALIGN_PARAGRAPH.CENTER,
        )
    w.line(document.subtitle, "body", Pt(10.5), GREY, align=WD_ALIGN_PARAGRAPH.CENTER)
    rows_done = 0
    for block in document.blocks:
        match block:
            case Heading(text=text, level=level):
                face = "heading" if level == 1 else "kai"
                w.line(text, face, style=f"Heading {min(level, 2)}", indent=level > 1)
            case Paragraph(text=text, tone=tone, indent=indent):
                w.line(text, "body", SMALL if tone == "note" else BODY, _color(tone), indent=indent)
            case Fields(rows=rows):
                grid = _Grid(out, (0.28, 0.72))
                for label, value in rows:
                    grid.row((label, value), header_column=True)
            case Table(header=header, rows=rows, widths=widths):
                grid = _Grid(out, widths)
                grid.row(header, head=True)
                _repeat_header(grid.table)
                for row in rows:
                    grid.row(row.cells, tone=row.tone)
                    rows_done += 1
                    if rows_done % PROGRESS_EVERY == 0:
                        progress(rows_done)
            case Figure(chart=chart, caption=caption):
                out.add_picture(io.BytesIO(drawing.png(chart, faces.heading)), width=TEXT_WIDTH)
                picture = out.paragraphs[-1].paragraph_format
                # an exact line height (the body's grid) would crop the picture to one line
                picture.alignment, picture.line_spacing_rule = (
                    WD_ALIGN_PARAGRAPH.CENTER,
                    WD_LINE_SPACING.SINGLE,
                )
                w.line(caption, "body", SMALL, align=WD_ALIGN_PARAGRAPH.CENTER)
    if document.signature:
        w.line("", "body")
        for line in document.signature:
            w.line(line, "body", align=WD_ALIGN_PARAGRAPH.RIGHT, right=Pt(32))
    if document.colophon:
        _colophon(w, document.colophon)
    progress(rows_done)
    buffer = io.BytesIO()
    out.save(buffer)
    return buffer.getvalue()


class _Writer:
    def __init__(self, out: docx.document.Document) -> None:
        self.out = out

    def line(
        self,
        text: str,
        face: str,
        size: Pt = BODY,
        color: RGBColor = BLACK,
        *,
        style: str | None = None,
        align: WD_ALIGN_PARAGRAPH | None = None,
        indent: bool = False,
        right: Pt | None = None,
    ) -> DocxParagraph:
        paragraph = self.out.add_paragraph(style=style)
        _fill(paragraph, text, face, size, color)
        fmt = paragraph.paragraph_format
        fmt.alignment = align
        if indent:
            fmt.first_line_indent = Pt(size.pt * 2)  # 首行缩进两字
        if right is not None:
            fmt.right_indent = right
        return paragraph


class _Grid:
    """A table of fixed column widths, set on every cell: LibreOffice lays out by the cells'
    widths, not the grid's, and would otherwise squeeze dates and ids into broken pieces."""

    def __init__(self, out: docx.document.Document, shares: tuple[float, ...]) -> None:
        self.table: DocxTable = out.add_table(rows=0, cols=len(shares), style="Table Grid")
        self.table.alignment = WD_TABLE_ALIGNMENT.CENTER
        self.table.autofit = False
        whole = sum(shares)
        self.widths = [Emu(int(TEXT_WIDTH * share / whole)) for share in shares]
        for column, width in zip(self.table.columns, self.widths, strict=True):
            column.width = width
        whole_width = OxmlElement("w:tblW")
        whole_width.set(qn("w:w"), str(round(TEXT_WIDTH.twips)))
        whole_width.set(qn("w:type"), "dxa")
        properties = self.table._tbl.tblPr
        for old in properties.findall(qn("w:tblW")):
            properties.remove(old)
        # in its place in the schema's order: before jc, borders, layout
        properties.insert_element_before(
            whole_width, "w:jc", "w:tblInd", "w:tblBorders", "w:tblLayout", "w:tblLook"
        )

    def row(
        self, texts: tuple[str, ...], *, head: bool = False, header_column: bool = False, tone: Tone = "plain"
    ) -> None:
        # through the row's own cells: `row.cells` walks the whole table each time, which makes a
        # table of thousands of rows take minutes
        row = self.table.add_row()  # type: ignore[no-untyped-call]
        cells = [_Cell(tc, self.table) for tc in row._tr.tc_lst]
        for n, (cell, text, width) in enumerate(zip(cells, texts, self.widths, strict=True)):
            cell.width = width
            paragraph = cell.paragraphs[0]
            paragraph.paragraph_format.line_spacing_rule = WD_LINE_SPACING.SINGLE
            face = "heading" if head or (header_column and n == 0) else "body"
            _fill(paragraph, text, face, CELL, _color(tone))
            if tone in FILLS:
                _shade(cell, FILLS[tone])


def _fill(paragraph: DocxParagraph, text: str, face: str, size: Pt, color: RGBColor) -> None:
    """One run per line of `text`, each naming its East Asian face (what Chinese text uses). A
    hyphen inside an identifier or a date is a non-breaking one (read back as "-"), so Word and
    LibreOffice never split "20261123-001-R1" or "2026-11-23" at the end of a line."""
    for n, part in enumerate(text.split("\n")):
        run = paragraph.add_run()
        if n:
            run.add_break()
        for m, piece in enumerate(JOINED_HYPHEN.split(part)):
            if m:
                run._r.append(OxmlElement("w:noBreakHyphen"))
            if piece:
                run._r.add_t(piece)
        run.font.size, run.font.color.rgb, run.font.name = size, color, LATIN
        _east_asian(run.element.get_or_add_rPr(), OFFICE_NAMES[face])


def _east_asian(rpr: BaseOxmlElement, name: str) -> None:
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.insert(0, fonts)
    for theme in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):  # they override names
        fonts.attrib.pop(qn(theme), None)
    fonts.set(qn("w:eastAsia"), name)


def _color(tone: Tone) -> RGBColor:
    return RED if tone == "alert" else GREY if tone == "note" else BLACK


def _page(out: docx.document.Document) -> None:
    """A4, GB/T 9704-2012 margins, page numbers "— 1 —": odd pages right, even pages left."""
    section = out.sections[0]
    section.start_type = WD_SECTION_START.NEW_PAGE
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin, section.bottom_margin = Mm(37), Mm(35)
    section.left_margin, section.right_margin = Mm(28), Mm(26)
    section.footer_distance = Mm(21)  # the number's line 7 mm under the text block
    out.settings.odd_and_even_pages_header_footer = True
    for footer, align in (
        (section.footer, WD_ALIGN_PARAGRAPH.RIGHT),
        (section.even_page_footer, WD_ALIGN_PARAGRAPH.LEFT),
    ):
        paragraph = footer.paragraphs[0]
        paragraph.alignment = align
        fmt = paragraph.paragraph_format
        fmt.left_indent = fmt.right_indent = SMALL  # one character in from the edge
        _fill(paragraph, "— ", "body", SMALL, BLACK)
        _page_field(paragraph)
        _fill(paragraph, " —", "body", SMALL, BLACK)


def _page_field(paragraph: DocxParagraph) -> None:
    run = paragraph.add_run()
    run.font.size = SMALL
    for tag, text in (("w:fldChar", "begin"), ("w:instrText", " PAGE "), ("w:fldChar", "end")):
        element = OxmlElement(tag)
        if tag == "w:fldChar":
            element.set(qn("w:fldCharType"), text)
        else:
            element.set(qn("xml:space"), "preserve")
            element.text = text
        run._r.append(element)


def _styles(out: docx.document.Document) -> None:
    """Body text 3号 仿宋 on the 22-line grid; headings black, not the template's blue."""
    normal = out.styles["Normal"]
    normal.font.name, normal.font.size = LATIN, BODY
    _east_asian(normal.element.get_or_add_rPr(), OFFICE_NAMES["body"])
    fmt = normal.paragraph_format
    fmt.line_spacing_rule, fmt.line_spacing = WD_LINE_SPACING.EXACTLY, LEADING
    fmt.space_before = fmt.space_after = Pt(0)
    for level, face in ((1, "heading"), (2, "kai")):
        style = out.styles[f"Heading {level}"]
        font = style.font
        font.name, font.size, font.bold, font.italic, font.color.rgb = LATIN, BODY, False, False, BLACK
        _east_asian(style.element.get_or_add_rPr(), OFFICE_NAMES[face])
        style.paragraph_format.space_before = style.paragraph_format.space_after = Pt(0)
        style.paragraph_format.line_spacing_rule = WD_LINE_SPACING.EXACTLY
        style.paragraph_format.line_spacing = LEADING


def _colophon(w: _Writer, colophon: Colophon) -> None:
    """版记: a thick rule, 抄送, a thin rule, the printing unit and date, a thick rule."""
    w.line("", "body")
    copy = w.line(colophon.copy_to, "body", SMALL)
    _rule(copy, "top", 8, "000000")
    _rule(copy, "bottom", 4, "000000")
    printed = w.line(f"{colophon.printed_by}\t{colophon.printed_on}", "body", SMALL)
    printed.paragraph_format.tab_stops.add_tab_stop(TEXT_WIDTH - Pt(14), alignment=2)  # right
    _rule(printed, "bottom", 8, "000000")
    for paragraph in (copy, printed):
        paragraph.paragraph_format.left_indent = paragraph.paragraph_format.right_indent = Pt(14)


def _rule(paragraph: DocxParagraph, side: str, eighths: int, color: str) -> None:
    """A rule along one side of a paragraph: the red line of the 版头, the lines of the 版记."""
    ppr = paragraph._p.get_or_add_pPr()
    borders = ppr.find(qn("w:pBdr"))
    if borders is None:
        borders = OxmlElement("w:pBdr")
        ppr.append(borders)
    line = OxmlElement(f"w:{side}")
    for key, value in (("w:val", "single"), ("w:sz", str(eighths)), ("w:space", "1"), ("w:color", color)):
        line.set(qn(key), value)
    borders.append(line)


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
