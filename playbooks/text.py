"""Hostile text made harmless: the one sanitising helper for everything people or devices write
(titles, notes, device ids, alarm texts) and everything dutydesk prints (terminal, Markdown,
notifications).

Control characters (escape sequences that clear a board or retitle a terminal, NUL, C1 codes,
bidirectional overrides that reorder what is read) are made visible as `\\u001b`-style escapes, never
passed on: a reader sees that something odd was sent, and nothing acts on it. Newlines and tabs
survive in multi-line text only. Lengths have limits: a command that exceeds one is refused with a
clear error; what devices send is cut and flagged, because an alarm must never be lost for its
length.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:  # the printing helpers above are loaded by every command; these are not needed there
    from dutydesk.playbooks.alarms import Decoded, Reading
    from dutydesk.playbooks.commands import Command

TITLE_MAX = 200  # characters in an incident's title
TEXT_MAX = 4000  # characters in a note, a description, a summary, an alarm's text
DEVICE_MAX = 128  # characters in a device id
NOTIFICATION_MAX = 4000  # characters in a notification's body (chat and SMS gateways cut anyway)
CUT_MARK = "…[cut]"
SINGLE_LINE = frozenset({"title", "location", "actor", "plan_id", "incident", "item", "request_id"})
C = TypeVar("C", bound="Command")

# C0 except tab and newline, DEL, C1, zero-width and bidirectional controls, and the Unicode
# line and paragraph separators (a terminal may break a line on them)
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff]")
_CONTROL_OR_BREAK = re.compile(f"{_CONTROL.pattern[:-1]}\t\n]")
_HTML = str.maketrans({"<": "&lt;", ">": "&gt;", "&": "&amp;"})


def _shown(match: re.Match[str]) -> str:
    # \u001b rather than \x1b: as plain to a reader, and a valid escape inside JSON strings too
    return f"\\u{ord(match.group()):04x}"


def visible(text: str, *, multiline: bool = False) -> str:
    """`text` with every control character shown as an escape (tabs and newlines kept when
    `multiline`)."""
    return (_CONTROL if multiline else _CONTROL_OR_BREAK).sub(_shown, text)


def cut(text: str, limit: int) -> str:
    """At most `limit` characters, a cut flagged as such."""
    return text if len(text) <= limit else text[: limit - len(CUT_MARK)] + CUT_MARK


def device_id(raw: str) -> str:
    """A device id as stored: visible, and when too long cut with a digest of the whole, so two
    long ids that share a beginning stay two devices."""
    shown = visible(raw)
    if len(shown) <= DEVICE_MAX:
        return shown
    digest = hashlib.sha256(raw.encode()).hexdigest()[:8]
    return cut(shown, DEVICE_MAX - 9) + "#" + digest


def too_long(text: str, limit: int) -> bool:
    return len(text) > limit


def markdown(text: str) -> str:
    """For a Markdown document: visible, and HTML shown as text rather than rendered."""
    return visible(text, multiline=True).translate(_HTML)


def sanitised(command: C) -> C:
    """A command as the engine takes it: every text field visible (titles on one line), or
    refused when longer than its limit (the command line and the console say why)."""
    changes: dict[str, Any] = {}  # str, but `replace` types each field by its own annotation
    for field in dataclasses.fields(command):
        value = getattr(command, field.name)
        if not isinstance(value, str):
            continue
        single = field.name in SINGLE_LINE
        limit = TITLE_MAX if single else TEXT_MAX
        if too_long(value, limit):
            from dutydesk.playbooks.commands import Rejected  # noqa: PLC0415 - see TYPE_CHECKING

            raise Rejected(
                "too_long",
                f"{field.name}: {len(value)} characters, at most {limit}",
                field=field.name,
                length=len(value),
                limit=limit,
            )
        shown = visible(value, multiline=not single)
        if shown != value:
            changes[field.name] = shown
    return dataclasses.replace(command, **changes) if changes else command


def decoded_sanitised(decoded: Decoded) -> Decoded:
    """What a device sent, as stored: ids and texts visible, and cut (flagged) when too long, so
    the alarm is kept whatever its length. Runs per message: what is harmless already is kept as
    it is, not copied."""
    readings = tuple(_reading_sanitised(r) for r in decoded.readings)
    complete = tuple((device_id(device), visible(prefix)) for device, prefix in decoded.complete)
    if complete == decoded.complete and all(a is b for a, b in zip(readings, decoded.readings, strict=True)):
        return decoded
    return dataclasses.replace(decoded, readings=readings, complete=complete)  # relay and the rest kept


def _reading_sanitised(reading: Reading) -> Reading:
    device, point, kind = device_id(reading.device), device_id(reading.point), device_id(reading.kind)
    text = reading.text
    if text is not None:
        text = cut(visible(text, multiline=True), TEXT_MAX)
    if device == reading.device and point == reading.point and kind == reading.kind and text == reading.text:
        return reading
    return dataclasses.replace(reading, device=device, point=point, kind=kind, text=text)
