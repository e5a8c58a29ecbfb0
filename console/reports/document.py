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
class Document:
    title: str
    subtitle: str
    lang: str
    blocks: tuple[Block, ...]
    marks: tuple[str, ...] = ()  # shown beside the title: 演练 DRILL, 草稿 draft

    @property
    def figures(self) -> list[Figure]:
        return [block for block in self.blocks if isinstance(block, Figure)]
