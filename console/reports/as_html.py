"""A report as one self-contained HTML page: charts inline as SVG, styles inline, printable."""

from __future__ import annotations

from html import escape
from pathlib import Path

from dutydesk.console.reports import drawing
from dutydesk.console.reports.document import Document, Fields, Figure, Heading, Paragraph, Table

STYLE = """
body { font-family: "Microsoft YaHei", "PingFang SC", "Noto Sans CJK SC", "WenQuanYi Micro Hei",
  sans-serif; color: #263238; margin: 0; background: #f5f6f7; }
main { max-width: 60rem; margin: 0 auto; padding: 2rem 2.5rem; background: #fff; }
h1 { font-size: 1.6rem; margin: 0 0 .3rem; }
h2 { font-size: 1.2rem; margin: 2rem 0 .6rem; border-bottom: 2px solid #37474f; padding-bottom: .2rem; }
h3 { font-size: 1rem; margin: 1.2rem 0 .4rem; }
.subtitle { color: #607d8b; margin: 0 0 1rem; }
.mark { display: inline-block; background: #c62828; color: #fff; padding: .1rem .5rem; border-radius: 3px;
  margin-right: .4rem; font-size: .85rem; }
table { border-collapse: collapse; width: 100%; font-size: .85rem; margin: .4rem 0 1rem; }
th, td { border: 1px solid #cfd8dc; padding: .3rem .45rem; text-align: left; vertical-align: top; }
thead th { background: #eceff1; }
table.fields th { width: 12rem; background: #f5f7f8; font-weight: normal; color: #455a64; }
tr.alert td { background: #fdecea; color: #b71c1c; }
tr.note td { background: #fff8e1; }
p.note { color: #607d8b; }
p.alert { color: #b71c1c; font-weight: bold; }
figure { margin: 1rem 0; }
figure svg { max-width: 100%; height: auto; }
figcaption { color: #607d8b; font-size: .85rem; text-align: center; }
@media print { body { background: #fff; } main { padding: 0; max-width: none; }
  thead { display: table-header-group; } }
"""


def html(document: Document, font: Path) -> str:
    out = [
        f'<!DOCTYPE html>\n<html lang="{"zh-CN" if document.lang == "zh" else "en"}">\n<head>\n'
        f'<meta charset="utf-8">\n<meta name="generator" content="dutydesk">\n'
        f"<title>{escape(document.title)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<main>\n<header>\n"
        f"<h1>{escape(document.title)}</h1>\n"
    ]
    if document.marks:
        out.append(
            "<p>" + "".join(f'<span class="mark">{escape(m)}</span>' for m in document.marks) + "</p>\n"
        )
    out.append(f'<p class="subtitle">{escape(document.subtitle)}</p>\n</header>\n')
    for block in document.blocks:
        match block:
            case Heading(text=text, level=level):
                out.append(f"<h{level + 1}>{escape(text)}</h{level + 1}>\n")
            case Paragraph(text=text, tone=tone):
                out.append(f'<p class="{tone}">{escape(text)}</p>\n')
            case Fields(rows=rows):
                out.append('<table class="fields">\n')
                out += [f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>\n" for k, v in rows]
                out.append("</table>\n")
            case Table(header=header, rows=rows, widths=widths):
                whole = sum(widths)
                cols = "".join(f'<col style="width:{w / whole * 100:.1f}%">' for w in widths)
                head = "".join(f"<th>{escape(h)}</th>" for h in header)
                out.append(f'<table class="grid"><colgroup>{cols}</colgroup>\n')
                out.append(f"<thead><tr>{head}</tr></thead>\n<tbody>\n")
                out += [
                    f'<tr class="{row.tone}">'
                    + "".join(f"<td>{escape(c)}</td>" for c in row.cells)
                    + "</tr>\n"
                    for row in rows
                ]
                out.append("</tbody></table>\n")
            case Figure(chart=chart, caption=caption):
                picture = drawing.svg(chart, font)
                out.append(f"<figure>\n{picture}\n<figcaption>{escape(caption)}</figcaption>\n</figure>\n")
    out.append("</main>\n</body>\n</html>\n")
    return "".join(out)
