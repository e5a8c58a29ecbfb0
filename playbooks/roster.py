"""The duty roster: who holds which role when, and the apprise tags that reach them.

Pure: shifts are parsed here from CSV text and asked who is on at an instant; the command line
reads the file, and imported rosters are kept in the event log (`RosterImported`).

A holder is a person or a group (an office, a team, a contractor's hotline); its tags name its
destinations in the apprise configuration. A shift without start and end is a standing
assignment (the party committee and government office is always the same office).
"""

from __future__ import annotations

import csv
import dataclasses
import io
import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from dutydesk.playbooks.vocab import ROLES

COLUMNS = ("role", "holder", "tags", "start", "end")
OVERRIDE_SPAN = timedelta(hours=12)  # an override's length when no dated shift says when the shift ends
TAG = re.compile(r"^[^\s,;:|]+$")  # apprise reads ':' in a tag as a priority or retry mark
_SPLIT = re.compile(r"[\s,;|]+")


@dataclass(frozen=True, slots=True)
class Shift:
    role: str
    holder: str
    tags: tuple[str, ...]
    start: datetime | None = None  # both None: a standing assignment
    end: datetime | None = None

    @property
    def standing(self) -> bool:
        return self.start is None

    def covers(self, at: datetime) -> bool:
        if self.start is None or self.end is None:
            return True
        return self.start <= at < self.end

    def to_dict(self) -> dict[str, Any]:
        return {
            "role": self.role,
            "holder": self.holder,
            "tags": list(self.tags),
            "start": self.start.isoformat() if self.start else None,
            "end": self.end.isoformat() if self.end else None,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Shift:
        return cls(
            role=data["role"],
            holder=data["holder"],
            tags=tuple(data["tags"]),
            start=datetime.fromisoformat(data["start"]) if data["start"] else None,
            end=datetime.fromisoformat(data["end"]) if data["end"] else None,
        )


class RosterError(Exception):
    """A roster file that cannot be used; every problem as `PATH:LINE: message`."""

    def __init__(self, errors: Iterable[str]) -> None:
        self.errors = tuple(errors)
        super().__init__("\n".join(self.errors))


@dataclass(frozen=True, slots=True)
class Roster:
    shifts: tuple[Shift, ...] = ()

    def holders(self, role: str, at: datetime) -> list[Shift]:
        """Who holds `role` at `at`: the shifts covering it (one per holder), else the standing ones."""
        dated = [s for s in self.shifts if s.role == role and not s.standing and s.covers(at)]
        chosen = dated or [s for s in self.shifts if s.role == role and s.standing]
        return list({s.holder: s for s in chosen}.values())

    def merged(self, incoming: Iterable[Shift]) -> Roster:
        """This roster with an imported file laid over it: the file's dated shifts replace every
        shift overlapping the period they span, its standing rows replace those of the same roles."""
        new = tuple(incoming)
        dated = [s for s in new if not s.standing]
        standing_roles = {s.role for s in new if s.standing}
        kept = [s for s in self.shifts if not (s.standing and s.role in standing_roles)]
        if dated:
            first = min(s.start for s in dated if s.start is not None)
            last = max(s.end for s in dated if s.end is not None)
            kept = [
                s
                for s in kept
                if s.standing
                or (s.end is not None and s.end <= first)
                or (s.start is not None and s.start >= last)
            ]
        return Roster(tuple(sorted([*kept, *new], key=_order)))

    def override(self, role: str, holder: str, at: datetime) -> Shift:
        """`holder` takes `role` from `at` to the end of the current shift (OVERRIDE_SPAN when no
        dated shift covers `at`), reached through the tags the roster already knows them by."""
        covering = [s for s in self.shifts if s.role == role and not s.standing and s.covers(at)]
        end = max((s.end for s in covering if s.end), default=at + OVERRIDE_SPAN)
        tags = next((s.tags for s in self.shifts if s.holder == holder), ())
        return Shift(role, holder, tags, at, end)

    def overridden(self, shift: Shift) -> Roster:
        """This roster with `shift` laid over its role alone: that role's other shifts give way
        for its span (cut short or begun later); the other roles keep theirs."""
        start, end = shift.start, shift.end
        assert start is not None, "an override is dated"
        assert end is not None, "an override is dated"
        kept: list[Shift] = []
        for s in self.shifts:
            if (
                s.role != shift.role
                or s.start is None
                or s.end is None
                or not (s.start < end and start < s.end)
            ):
                kept.append(s)
                continue
            assert s.start is not None, "dated"
            assert s.end is not None, "dated"
            if s.start < start:
                kept.append(dataclasses.replace(s, end=start))
            if s.end > end:
                kept.append(dataclasses.replace(s, start=end))
        return Roster(tuple(sorted([*kept, shift], key=_order)))

    def period(self) -> tuple[datetime, datetime] | None:
        dated = [s for s in self.shifts if s.start is not None and s.end is not None]
        if not dated:
            return None
        return min(s.start for s in dated if s.start), max(s.end for s in dated if s.end)


def _order(shift: Shift) -> tuple[bool, datetime | None, str, str]:
    return (not shift.standing, shift.start, shift.role, shift.holder)


def role_id(text: str, roles: Collection[str]) -> str | None:
    """A role by its id or its Chinese or English name (`duty_officer`, `值班人员`, `duty officer`)."""
    key = " ".join(text.replace("_", " ").split()).casefold()  # as people type it: "Duty Officer"
    for role in roles:
        label = ROLES.get(role)
        names = (role.replace("_", " "), label.zh, label.en) if label else (role.replace("_", " "),)
        if key in (name.casefold() for name in names):
            return role
    return None


def _time(text: str, zone: ZoneInfo) -> datetime:
    parsed = datetime.fromisoformat(text.strip())
    return parsed.replace(tzinfo=zone) if parsed.tzinfo is None else parsed


def parse_roster_csv(text: str, path: str, *, zone: ZoneInfo, roles: Collection[str] = ROLES) -> list[Shift]:
    """Shifts from CSV text with the header `role,holder,tags,start,end`; times without an offset
    are in the centre's zone. Raises RosterError listing every problem found."""
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff")))  # spreadsheets add a BOM
    header = next(reader, None)
    if header is None:
        raise RosterError([f"{path}:1: the file is empty; expected the header {','.join(COLUMNS)}"])
    names = [h.strip().lower() for h in header]
    missing = [c for c in COLUMNS if c not in names]
    if missing:
        raise RosterError([f"{path}:1: missing column(s) {', '.join(missing)}; expected {','.join(COLUMNS)}"])
    index = {c: names.index(c) for c in COLUMNS}
    shifts: list[Shift] = []
    errors: list[str] = []
    for row in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        cells = {c: row[i].strip() if i < len(row) else "" for c, i in index.items()}
        problems: list[str] = []
        role = role_id(cells["role"], roles)
        if role is None:
            problems.append(f"unknown role {cells['role']!r}; known roles: {', '.join(roles)}")
        if not cells["holder"]:
            problems.append("the holder is empty")
        tags = tuple(t for t in _SPLIT.split(cells["tags"]) if t)
        if not tags:
            problems.append("no tags: name the holder's destinations in the apprise configuration")
        problems += [f"tag {t!r} may not contain ':'" for t in tags if not TAG.match(t)]
        start = end = None
        if bool(cells["start"]) != bool(cells["end"]):
            problems.append("give both start and end, or neither for a standing assignment")
        elif cells["start"]:
            try:
                start, end = _time(cells["start"], zone), _time(cells["end"], zone)
            except ValueError:
                problems.append(
                    f"cannot read the time {cells['start']!r} or {cells['end']!r}; use e.g. 2026-11-23 08:30"
                )
            else:
                if end <= start:
                    problems.append("the shift ends before it starts")
        errors += [f"{path}:{line}: {p}" for p in problems]
        if not problems and role is not None:
            shifts.append(Shift(role, cells["holder"], tags, start, end))
    if errors:
        raise RosterError(errors)
    if not shifts:
        raise RosterError([f"{path}:1: no shifts in the file"])
    return shifts
