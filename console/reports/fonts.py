"""The typefaces of the reports: the four of a GB/T 9704-2012 document, as files for the PDF and
the charts, and by their customary names for DOCX and HTML.

The PDF embeds TrueType faces (reportlab cannot embed CFF/OTF outlines, such as Noto CJK's). No
freely licensed simplified-Chinese 仿宋 or 小标宋 is packaged in Debian (cwTeX 仿宋 covers traditional
characters only), so the defaults are the nearest free faces of the same families, installed by
`scripts/setup`:

- title (小标宋-style) and body (仿宋-style): AR PL SungtiL GB, a Song face (fonts-arphic-gbsn00lp)
- level-1 headings, tables' heads and charts (黑体): WenQuanYi Zen Hei (fonts-wqy-zenhei)
- level-2 headings (楷体): AR PL KaitiM GB (fonts-arphic-gkai00mp)

`[reports]` in the configuration names others (title_font, body_font, font, kai_font). A
character missing from a face is drawn in the 黑体 face, which covers the most.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from dutydesk.connectors.settings import Settings
from dutydesk.console.reports.output import ReportError

TRUETYPE = Path("/usr/share/fonts/truetype")
SONG = (TRUETYPE / "arphic-gbsn00lp/gbsn00lp.ttf",)
KAI = (TRUETYPE / "arphic-gkai00mp/gkai00mp.ttf",)
HEI = (
    TRUETYPE / "wqy/wqy-zenhei.ttc",
    TRUETYPE / "wqy/wqy-microhei.ttc",
    Path("/usr/share/fonts/wqy-microhei/wqy-microhei.ttc"),  # Fedora
    Path("/usr/share/fonts/wenquanyi/wqy-microhei/wqy-microhei.ttc"),  # Arch
)
PACKAGES = "fonts-arphic-gbsn00lp, fonts-arphic-gkai00mp and fonts-wqy-zenhei"

# what Word and WPS on the office's PCs have: named in DOCX and HTML, not embedded
OFFICE_NAMES = {"title": "方正小标宋简体", "body": "仿宋_GB2312", "heading": "黑体", "kai": "楷体_GB2312"}


class FontMissing(ReportError):  # noqa: N818 - reads as "the font is missing"
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class FontChoice:
    """The faces asked for in the configuration; None: the default."""

    title: Path | None = None
    body: Path | None = None
    heading: Path | None = None
    kai: Path | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Faces:
    title: Path
    body: Path
    heading: Path  # also the charts' face and the fallback for missing characters
    kai: Path


def faces(choice: FontChoice = FontChoice()) -> Faces:
    """The configured faces, else the first installed default of each style; a style with no
    face falls back on the 黑体 face, so a machine with only WenQuanYi still makes every report."""
    heading = _face("font", choice.heading, HEI)
    return Faces(
        title=_face("title_font", choice.title, SONG, heading),
        body=_face("body_font", choice.body, SONG, heading),
        heading=heading,
        kai=_face("kai_font", choice.kai, KAI, heading),
    )


def cjk_font(configured: Path | None = None) -> Path:
    """The 黑体 face alone: what the charts need."""
    return _face("font", configured, HEI)


def _face(
    key: str, configured: Path | None, candidates: tuple[Path, ...], fallback: Path | None = None
) -> Path:
    if configured is not None:
        if not configured.is_file():
            raise FontMissing(f"reports.{key}: no font file {configured}")
        return configured
    for path in candidates:
        if path.is_file():
            return path
    if fallback is not None:
        return fallback
    raise FontMissing(
        f"no CJK font for PDF and charts: install {PACKAGES} (scripts/setup does), "
        "or name TrueType fonts in [reports] of dutydesk.toml"
    )


def font_choice(settings: Settings) -> FontChoice:
    """The faces `[reports]` names, relative paths from the configuration's folder."""
    section = settings.file.reports

    def path(value: Path | None) -> Path | None:
        return settings.resolve(value) if value is not None else None

    return FontChoice(
        title=path(section.title_font),
        body=path(section.body_font),
        heading=path(section.font),
        kai=path(section.kai_font),
    )
