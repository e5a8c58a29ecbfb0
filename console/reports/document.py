"""The one report model every format renders: headings, paragraphs, fields, tables and figures."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from dutydesk.console.reports.charts import Chart

Tone = Literal["plain", "note", "alert"]  # alert: a breach or an overdue item, shown in red


@dataclass(frozen=True, slots=True)
class Heading:
    text: str
    level: int = 1  # 1: a numbered section (一、事件概况), 2: within it


@dataclass(frozen=True, slots=True)
class Paragraph:
    text: str
    tone: Tone = "plain"
    indent: bool = True  # 首行缩进两字; not for the addressee line (主送机关)


@dataclass(frozen=True, slots=True)
class Fields:
    """Label and value pairs: the overview of an incident, the totals of a period."""

    rows: tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class Row:
    cells: tuple[str, ...]
    tone: Tone = "plain"


@dataclass(frozen=True, slots=True)
class Table:
    header: tuple[str, ...]
    rows: tuple[Row, ...]
    widths: tuple[float, ...]  # relative column widths, for formats laid out on a page


@dataclass(frozen=True, slots=True)
class Figure:
    chart: Chart
    caption: str


Block = Heading | Paragraph | Fields | Table | Figure


@dataclass(frozen=True, slots=True)
class Letterhead:
    """The head of a document (版头, GB/T 9704-2012 7.2): who issues it and its number (发文字号)."""

    unit: str
    number: str = ""


@dataclass(frozen=True, slots=True)
class Colophon:
    """The foot of the last page (版记, GB/T 9704-2012 7.4): who else gets it (抄送), who prints
    it and when (印发机关, 印发日期)."""

    copy_to: str
    printed_by: str
    printed_on: str


@dataclass(frozen=True, slots=True)
class Document:
    title: str
    subtitle: str  # the generation stamp: the only line that differs between two runs
    lang: str
    blocks: tuple[Block, ...]
    marks: tuple[str, ...] = ()  # shown beside the title: 演练 DRILL, 草稿 draft
    letterhead: Letterhead | None = None
    signature: tuple[str, ...] = ()  # 落款: the issuing unit and the date, under the text
    colophon: Colophon | None = None

    @property
    def figures(self) -> list[Figure]:
        return [block for block in self.blocks if isinstance(block, Figure)]
