"""Writing a report: the format, the target file (checked before any work, written whole or not
at all) and a progress line for long generations."""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from dutydesk.console.reports.document import Document

if TYPE_CHECKING:
    from dutydesk.console.reports.fonts import FontChoice

FORMATS = ("md", "html", "pdf", "docx")
BINARY = frozenset({"pdf", "docx"})
SUFFIXES = {".md": "md", ".markdown": "md", ".html": "html", ".htm": "html", ".pdf": "pdf", ".docx": "docx"}


class ReportError(Exception):
    """The report cannot be made or written where asked; nothing was written."""


def choose_format(asked: str | None, target: Path | None) -> str:
    """The format asked for, else the one the file name says, else Markdown."""
    if asked is not None:
        return asked
    if target is not None and target.suffix.lower() in SUFFIXES:
        return SUFFIXES[target.suffix.lower()]
    return "md"


def check_target(target: Path) -> None:
    """Refuse an output path that cannot be written before spending time on the report."""
    folder = target.parent
    if target.is_dir():
        raise ReportError(f"{target} is a folder; give a file name")
    if not folder.is_dir():
        raise ReportError(f"{target}: no folder {folder}")
    if not os.access(folder, os.W_OK | os.X_OK) or (target.exists() and not os.access(target, os.W_OK)):
        raise ReportError(f"{target}: not allowed to write there")


def write(target: Path, data: bytes) -> None:
    """Write the whole file or nothing: a temporary file beside it, renamed over it at the end.
    The file gets the mode any new file would (the umask's), not the temporary file's 0600: a
    report is made to be passed on."""
    try:
        handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    except OSError as exc:
        raise ReportError(f"{target}: cannot write ({exc.strerror})") from None
    try:
        os.fchmod(handle, 0o666 & ~_umask())
        with os.fdopen(handle, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, target)
    except OSError as exc:
        Path(temporary).unlink(missing_ok=True)
        raise ReportError(f"{target}: cannot write ({exc.strerror})") from None


def _umask() -> int:
    mask = os.umask(0o022)  # the only way to read it is to set it
    os.umask(mask)
    return mask


def render(document: Document, fmt: str, *, fonts: FontChoice, progress: ProgressLine) -> bytes:
    """The document in one format. The renderers are imported when used: matplotlib, reportlab
    and python-docx take most of a second to load, which other commands need not pay."""
    if fmt == "md":
        from dutydesk.console.reports.as_markdown import markdown  # noqa: PLC0415

        return markdown(document).encode()
    from dutydesk.console.reports.fonts import faces  # noqa: PLC0415

    face = faces(fonts)
    if fmt == "html":
        from dutydesk.console.reports.as_html import html  # noqa: PLC0415

        progress.show("charts")
        return html(document, face).encode()
    if fmt == "pdf":
        from dutydesk.console.reports.as_pdf import pdf  # noqa: PLC0415

        return pdf(document, face, lambda page: progress.show("pages", count=page))
    from dutydesk.console.reports.as_docx import docx_bytes  # noqa: PLC0415

    return docx_bytes(document, face, lambda rows: progress.show("rows", count=rows))


class ProgressLine:
    """One line on the terminal, rewritten in place ("reading events 40%"); silent when the
    stream is not a terminal, so scripts and logs stay clean. At most five updates a second."""

    def __init__(self, stream: TextIO | None = None, *, labels: dict[str, str] | None = None) -> None:
        self.stream = stream or sys.stderr
        self.labels = labels or {}
        self.active = self.stream.isatty()
        self._last = 0.0
        self._shown = False

    def show(self, stage: str, fraction: float | None = None, *, count: int | None = None) -> None:
        if not self.active:
            return
        now = time.monotonic()
        if now - self._last < 0.2 and fraction != 1.0:
            return
        self._last = now
        text = self.labels.get(stage, stage)
        if fraction is not None:
            text += f" {fraction * 100:3.0f}%"
        elif count is not None:
            text += f" {count}"
        self.stream.write(f"\r\033[K{text}")
        self.stream.flush()
        self._shown = True

    def done(self) -> None:
        if self._shown:
            self.stream.write("\r\033[K")
            self.stream.flush()
            self._shown = False
