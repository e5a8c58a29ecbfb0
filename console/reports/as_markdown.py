"""A report as Markdown: headings, lists and pipe tables (charts are left to the other formats)."""

from __future__ import annotations

from dutydesk.console.reports.document import Document, Fields, Figure, Heading, Paragraph, Table
from dutydesk.playbooks.text import markdown as safe


def _cell(text: str) -> str:
    return safe(text).replace("\\", "\\\\").replace("|", "\\|").replace("\n", "<br>")


def markdown(document: Document) -> str:
    colon = "：" if document.lang == "zh" else ": "
    lines = []
    if document.letterhead:
        head = document.letterhead
        lines += [f"**{safe(head.unit)}**", "", *([safe(head.number), ""] if head.number else []), "---", ""]
    lines += [f"# {safe(document.title)}", ""]
    if document.marks:
        lines += [" ".join(f"**[{mark}]**" for mark in document.marks), ""]
    lines += [safe(document.subtitle), ""]
    for block in document.blocks:
        match block:
            case Heading(text=text, level=level):
                lines += [f"{'#' * (level + 1)} {safe(text)}", ""]
            case Paragraph(text=text, tone=tone):
                text = safe(text)
                lines += [f"> {text}" if tone == "note" else f"**{text}**" if tone == "alert" else text, ""]
            case Fields(rows=rows):
                lines += [*(f"- **{label}**{colon}{_cell(value)}" for label, value in rows), ""]
            case Table(header=header, rows=rows):
                lines.append("| " + " | ".join(map(_cell, header)) + " |")
                lines.append("|" + "---|" * len(header))
                for row in rows:
                    cells = [_cell(c) for c in row.cells]
                    if row.tone == "alert":  # breaches and overdue items stand out
                        cells = [f"**{c}**" if c else c for c in cells]
                    lines.append("| " + " | ".join(cells) + " |")
                lines.append("")
            case Figure():
                pass
    if document.signature:
        lines += [*(f"{line}  " for line in document.signature), ""]
    if document.colophon:
        c = document.colophon
        lines += ["---", "", c.copy_to, "", f"{c.printed_by}　{c.printed_on}", ""]
    return "\n".join(lines)
