"""Text in columns for a terminal, counting CJK characters as two columns wide.

Kept apart from `render.py`, which knows the domain, so that the command line can lay out a table
without loading the engine's types."""

from __future__ import annotations

import unicodedata


def table(rows: list[list[str]]) -> str:
    """Columns padded to the widest cell, counting CJK characters as two columns."""
    if not rows:
        return ""
    widths = [max(width(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for row in rows:
        cells = [cell + " " * (widths[i] - width(cell)) for i, cell in enumerate(row)]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def width(text: str) -> int:
    """How many terminal columns the text takes."""
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)
