"""What a command hands back, and the one place that writes it: as text for people, or as JSON
for scripts when the command was given `--json`; either way through `playbooks.text.visible`, so
no control character from the log or a device reaches a terminal.

A command never tests `--json` itself. It returns a `Table` or `Lines` carrying both faces of its
answer (`data` is what `--json` prints), or `Raw` text to write as it is (a report in Markdown or
HTML); `emit` chooses.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TextIO, assert_never

from dutydesk.console.columns import table
from dutydesk.playbooks.text import visible


@dataclass(frozen=True, slots=True)
class Table:
    """Rows under a header, columns padded; `empty` is said instead when there are no rows."""

    header: Sequence[str]
    rows: Sequence[Sequence[str]]
    data: Any = None  # what --json prints
    empty: str | None = None
    above: Sequence[str] = ()  # lines before the table
    code: int = 0


@dataclass(frozen=True, slots=True)
class Lines:
    """Lines of text (what was recorded, a verdict, a plan's obligations)."""

    lines: Sequence[str]
    data: Any = None  # what --json prints
    code: int = 0


@dataclass(frozen=True, slots=True)
class Raw:
    """Text written as it is, with no newline added: a report on standard output."""

    text: str
    code: int = 0


Output = Table | Lines | Raw


def emit(output: Output, out: TextIO, *, as_json: bool = False) -> int:
    """Write a command's answer; the command's exit status."""
    match output:
        case Table(data=data) | Lines(data=data) if as_json:  # JSON's escapes, and visible's
            out.write(visible(json.dumps(data, ensure_ascii=False, indent=2), multiline=True) + "\n")
        case Table(rows=rows, empty=empty) if not rows and empty is not None:
            _write(out, [*output.above, empty])
        case Table():
            _write(out, [*output.above, table([list(output.header), *map(list, output.rows)])])
        case Lines():
            _write(out, output.lines)
        case Raw():
            out.write(visible(output.text, multiline=True))
        case _:
            assert_never(output)
    return output.code


def _write(out: TextIO, lines: Sequence[str]) -> None:
    # no control character from the log or a device reaches the terminal: shown, not obeyed
    for line in lines:
        out.write(visible(line, multiline=True) + "\n")
