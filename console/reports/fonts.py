"""The CJK font the reports need: embedded in PDFs and used for chart labels.

It must have TrueType outlines, which reportlab can embed (Noto CJK's CFF outlines it cannot).
`scripts/setup` installs WenQuanYi Micro Hei (Debian's fonts-wqy-microhei); `[reports] font` in the
configuration names another.
"""

from __future__ import annotations

from pathlib import Path

from dutydesk.console.reports.output import ReportError

CANDIDATES = (
    Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"),  # Debian, Ubuntu
    Path("/usr/share/fonts/wqy-microhei/wqy-microhei.ttc"),  # Fedora
    Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"),
    Path("/usr/share/fonts/wenquanyi/wqy-microhei/wqy-microhei.ttc"),  # Arch
)


class FontMissing(ReportError):  # noqa: N818 - reads as "the font is missing"
    pass


def cjk_font(configured: Path | None = None) -> Path:
    """The configured font, else the first installed candidate."""
    if configured is not None:
        if not configured.is_file():
            raise FontMissing(f"reports.font: no font file {configured}")
        return configured
    for path in CANDIDATES:
        if path.is_file():
            return path
    raise FontMissing(
        "no CJK font for PDF and charts: install fonts-wqy-microhei (scripts/setup does), "
        "or name a TrueType font as [reports] font in dutydesk.toml"
    )
