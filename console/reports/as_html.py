"""A report as one self-contained HTML page: charts inline as SVG, styles inline, and printed the
way the PDF is (GB/T 9704-2012: A4, its margins, 仿宋 body, 黑体 and 楷体 headings)."""

from __future__ import annotations

from html import escape

from dutydesk.console.reports import drawing, linebreak
from dutydesk.console.reports.document import Document, Fields, Figure, Heading, Paragraph, Table
from dutydesk.console.reports.fonts import Faces

STYLE = """
@page { size: A4; margin: 37mm 26mm 35mm 28mm;
  @bottom-center { content: "— " counter(page) " —"; font-family: "SimSun", serif;
    font-size: 14pt; } }
body { font-family: "仿宋_GB2312", "FangSong_GB2312", "仿宋", "FangSong", "STFangsong",
  "AR PL SungtiL GB", serif; font-size: 16pt; line-height: 28.95pt; color: #000; margin: 0;
  background: #f5f6f7;
  line-break: strict; overflow-wrap: normal; }
main { width: 156mm; margin: 0 auto; padding: 2rem 2.5rem; background: #fff; }
.nb { white-space: nowrap; }
.unit { font-family: "方正小标宋简体", "FZXiaoBiaoSong-B05S", "华文中宋", "STZhongsong", serif;
  color: #c00000; font-size: 26pt; line-height: 1.3; text-align: center; margin: 0; }
.number { text-align: center; margin: 1em 0 0; }
hr.red { border: 0; border-top: 1.2pt solid #c00000; margin: 4mm 0 0; }
h1 { font-family: "方正小标宋简体", "FZXiaoBiaoSong-B05S", "华文中宋", "STZhongsong", serif;
  font-weight: normal; font-size: 22pt; line-height: 1.5; text-align: center; margin: 28.95pt 0 0; }
h2 { font-family: "黑体", "SimHei", "WenQuanYi Zen Hei", sans-serif; font-weight: normal; font-size: 16pt;
  margin: 0; }
h3 { font-family: "楷体_GB2312", "KaiTi_GB2312", "楷体", "KaiTi", "AR PL KaitiM GB", serif;
  font-weight: normal; font-size: 16pt; margin: 0; text-indent: 2em; }
p { margin: 0; text-indent: 2em; }
.subtitle { color: #546e7a; font-size: 10.5pt; text-align: center; text-indent: 0; margin-bottom: 1em; }
.mark { color: #c00000; font-family: "黑体", "SimHei", sans-serif; text-align: center; text-indent: 0; }
table { border-collapse: collapse; width: 100%; font-size: 10.5pt; line-height: 1.35; margin: .4rem 0 1rem; }
th, td { border: .5pt solid #000; padding: 2pt 3pt; text-align: left; vertical-align: middle; }
th { font-family: "黑体", "SimHei", sans-serif; font-weight: normal; }
tr.alert td { background: #fdecea; color: #c00000; }
tr.note td { background: #fff8e1; }
p.note { color: #546e7a; font-size: 14pt; }
p.alert { color: #c00000; }
p.signature { text-align: right; padding-right: 2em; text-indent: 0; }
figure { margin: 1rem 0; }
figure svg { max-width: 100%; height: auto; }
figcaption { font-size: 14pt; text-align: center; }
.colophon { margin-top: 2em; border-top: 1pt solid #000; border-bottom: 1pt solid #000; font-size: 14pt; }
.colophon p { text-indent: 0; padding: 0 1em; }
.colophon .copy { border-bottom: .5pt solid #000; }
.colophon .printed { display: flex; justify-content: space-between; }
@media print { body { background: #fff; } main { padding: 0; width: auto; }
  thead { display: table-header-group; } }
"""


def _text(text: str) -> str:
    """Escaped, with identifiers, numbers and dates kept on one line."""
    return "".join(
        f'<span class="nb">{escape(atom)}</span>'
        if linebreak.TOKEN.fullmatch(atom) and len(atom) > 1
        else escape(atom)
        for atom in linebreak.atoms(text)
    )


def html(document: Document, faces: Faces) -> str:
    out = [
        f'<!DOCTYPE html>\n<html lang="{"zh-CN" if document.lang == "zh" else "en"}">\n<head>\n'
        f'<meta charset="utf-8">\n<meta name="generator" content="dutydesk">\n'
        f"<title>{escape(document.title)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<main>\n<header>\n"
    ]
    if document.letterhead:
        out.append(f'<p class="unit">{_text(document.letterhead.unit)}</p>\n')
        if document.letterhead.number:
            out.append(f'<p class="number">{_text(document.letterhead.number)}</p>\n')
        out.append('<hr class="red">\n')
    out.append(f"<h1>{_text(document.title)}</h1>\n")
    if document.marks:
        out.append('<p class="mark">' + "  ".join(f"【{escape(m)}】" for m in document.marks) + "</p>\n")
    out.append(f'<p class="subtitle">{_text(document.subtitle)}</p>\n</header>\n')
    for block in document.blocks:
        match block:
            case Heading(text=text, level=level):
                out.append(f"<h{level + 1}>{_text(text)}</h{level + 1}>\n")
            case Paragraph(text=text, tone=tone, indent=indent):
                flush = "" if indent else ' style="text-indent:0"'
                out.append(f'<p class="{tone}"{flush}>{_text(text)}</p>\n')
            case Fields(rows=rows):
                out.append('<table class="fields">\n<colgroup><col style="width:28%"><col></colgroup>\n')
                out += [f"<tr><th>{_text(k)}</th><td>{_text(v)}</td></tr>\n" for k, v in rows]
                out.append("</table>\n")
            case Table(header=header, rows=rows, widths=widths):
                whole = sum(widths)
                cols = "".join(f'<col style="width:{w / whole * 100:.1f}%">' for w in widths)
                head = "".join(f"<th>{_text(h)}</th>" for h in header)
                out.append(f'<table class="grid"><colgroup>{cols}</colgroup>\n')
                out.append(f"<thead><tr>{head}</tr></thead>\n<tbody>\n")
                out += [
                    f'<tr class="{row.tone}">'
                    + "".join(f"<td>{_text(c)}</td>" for c in row.cells)
                    + "</tr>\n"
                    for row in rows
                ]
                out.append("</tbody></table>\n")
            case Figure(chart=chart, caption=caption):
                picture = drawing.svg(chart, faces.heading)
                out.append(f"<figure>\n{picture}\n<figcaption>{_text(caption)}</figcaption>\n</figure>\n")
    out += [f'<p class="signature">{_text(line)}</p>\n' for line in document.signature]
    if document.colophon:
        c = document.colophon
        out.append(
            f'<footer class="colophon"><p class="copy">{_text(c.copy_to)}</p>\n'
            f'<p class="printed"><span>{_text(c.printed_by)}</span>'
            f"<span>{_text(c.printed_on)}</span></p></footer>\n"
        )
    out.append("</main>\n</body>\n</html>\n")
    return "".join(out)
