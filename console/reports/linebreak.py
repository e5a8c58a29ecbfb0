"""Line breaking for the PDF: Chinese rules (禁则) and whole tokens.

No line starts with closing punctuation and none ends with an opening one; identifiers, numbers,
dates and English words are never split (unless one alone is wider than the line); English breaks
at spaces. reportlab's own CJK wrapping breaks inside "20261120-001-R1" and English words, so the
PDF writer breaks lines here and hands reportlab finished lines.
"""

from __future__ import annotations

import re
from collections.abc import Callable

# what may not start a line (closing brackets, stops, commas…) and what may not end one (opening)
CLOSING = frozenset("，。、；：？！）》」』】〕〉”’…—·%,.;:?!)]}")
OPENING = frozenset("（《「『【〔〈“‘([{")
# one unbreakable token: a run of letters, digits and the joiners that keep an identifier, a
# number, a date or a time whole (20261120-001-R1, 2026-11-20, 03:15, 95.5%)
TOKEN = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9_'’/#@&+.:\-]*[A-Za-z0-9%])?%?")

Measure = Callable[[str], float]


def atoms(text: str) -> list[str]:
    """The text as pieces between which a line may break: tokens, spaces and single characters,
    with closing punctuation glued to what precedes it and opening punctuation to what follows."""
    pieces: list[str] = []
    at = 0
    while at < len(text):
        match = TOKEN.match(text, at)
        end = match.end() if match else at + 1
        pieces.append(text[at:end])
        at = end
    glued: list[str] = []
    for piece in pieces:
        if glued and not glued[-1].isspace() and (piece[0] in CLOSING or glued[-1][-1] in OPENING):
            glued[-1] += piece
        else:
            glued.append(piece)
    return glued


def lines(text: str, width: float, measure: Measure, *, first: float | None = None) -> list[str]:
    """`text` broken into lines no wider than `width` (`first` for the first line, when it is
    indented); a newline in the text always breaks."""
    out: list[str] = []
    for part in text.split("\n"):
        out += _fill(part, width, measure, first if not out else width)
    return out


def _fill(text: str, width: float, measure: Measure, first: float | None) -> list[str]:
    out: list[str] = []
    line, limit = "", first if first is not None else width
    for atom in atoms(text):
        piece = atom
        if piece.isspace():
            line += " " if line else ""
            continue
        if measure(line + piece) <= limit:
            line += piece
            continue
        if line.strip():
            out.append(line.rstrip())
            limit = width
        line = ""
        while measure(piece) > limit:  # one token wider than the line: split it, there is no better
            cut = max(n for n in range(1, len(piece) + 1) if n == 1 or measure(piece[:n]) <= limit)
            out.append(piece[:cut])
            piece, limit = piece[cut:].lstrip(), width
        line = piece
    if line.strip() or not out:
        out.append(line.rstrip())
    return out
