"""Routines (例行工作) as data: rounds on a schedule, and the pure arithmetic of their occurrences.

A routine is a round the centre's rules time (监控室每小时巡查监控画面, 交接班, a daily facilities
round): a schedule on the working-day calendar, the responsible role, a short checklist, and when
a round not logged warns and breaches. Each scheduled time is one occurrence, owed exactly once.
"""

from __future__ import annotations

import enum
import hashlib
import re
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from dutydesk.playbooks.durations import Duration
from dutydesk.playbooks.plans import DurationField, Identifier, Notify, TextField
from dutydesk.playbooks.typeddata import Parse, dumps, model
from dutydesk.playbooks.vocab import ROLES
from dutydesk.playbooks.workdays import WorkCalendar
from dutydesk.playbooks.yamlfile import SourceError, SourceErrors, line_in, line_of, read_model

_OFFSET = re.compile(r"^\s*(.+?)\s+(before|after)\s*$")


@dataclass(frozen=True, slots=True)
class Offset:
    """A wall-clock time before or after a reference point: `5m after`, `15m before`, `0m`."""

    amount: Duration
    before: bool = False

    @classmethod
    def parse(cls, text: str) -> Offset:
        match = _OFFSET.match(str(text))
        amount = Duration.parse(match.group(1) if match else str(text))
        if amount.is_workdays:
            raise ValueError(f"offset {text!r}: give minutes or hours, e.g. '5m after', '15m before'")
        return cls(amount, before=bool(match and match.group(2) == "before"))

    @property
    def delta(self) -> timedelta:
        return -self.amount.wall() if self.before else self.amount.wall()

    def apply(self, point: datetime) -> datetime:
        return point + self.delta

    def __str__(self) -> str:
        return f"{self.amount} {'before' if self.before else 'after'}"


def _offset(value: Any) -> Offset:
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise TypeError(f"should be an offset such as '5m after', not {value!r}")
    return Offset.parse(str(value))


OffsetField = Annotated[Offset, Parse(_offset, str)]


def _clock_time(value: Any) -> time:
    """`"08:30"`, and the `510` YAML 1.1 makes of an unquoted `8:30` (minutes, sexagesimal)."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 24 * 60:
        return time(value // 60, value % 60)
    if isinstance(value, str) and value.strip() == "24:00":
        return time.max
    if isinstance(value, str):
        try:
            return time.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ValueError(f"cannot read time of day {value!r}; write HH:MM, e.g. 08:30")


def clock_text(value: time) -> str:
    return "24:00" if value == time.max else value.strftime("%H:%M")


ClockTime = Annotated[time, Parse(_clock_time, clock_text)]


class Days(enum.StrEnum):
    EVERY = "every"  # every day, holidays included (监控室 24 小时)
    WORKDAYS = "workdays"  # working days on the calendar, 调休 included, holidays off


class Weekday(enum.StrEnum):
    MON = "mon"
    TUE = "tue"
    WED = "wed"
    THU = "thu"
    FRI = "fri"
    SAT = "sat"
    SUN = "sun"

    @property
    def number(self) -> int:
        return list(Weekday).index(self)


@model
class Weekly:
    day: Weekday
    at: ClockTime


@model
class Schedule:
    """When the occurrences fall: exactly one of `every` (within `from`..`to`), `at`, `shifts`,
    `daily` or `weekly`; on every day or on working days only. A window whose `to` is earlier
    than its `from` runs past midnight and belongs to the day it starts on."""

    every: DurationField | None = None
    from_: ClockTime = field(default=time(0, 0), metadata={"key": "from"})
    to: ClockTime = time.max
    at: tuple[ClockTime, ...] = ()
    shifts: tuple[ClockTime, ...] = ()  # the shift changes (交接班), e.g. [08:30, 17:30]
    daily: ClockTime | None = None
    weekly: Weekly | None = None
    days: Days = Days.EVERY

    def __post_init__(self) -> None:
        given = [name for name in ("every", "at", "shifts", "daily", "weekly") if getattr(self, name)]
        if len(given) != 1:
            raise ValueError("give exactly one of 'every', 'at', 'shifts', 'daily' or 'weekly'")
        if self.every is not None and (self.every.is_workdays or self.every.amount == 0):
            raise ValueError("'every' is a positive number of minutes or hours")
        if self.every is None and (self.from_ != time(0) or self.to != time.max):
            raise ValueError("'from' and 'to' bound an 'every' schedule")

    def times(self) -> list[timedelta]:
        """The occurrences of one service day, as offsets from its midnight (sorted, unique)."""
        if self.every is not None:
            start = _since_midnight(self.from_)
            end = _since_midnight(self.to) if self.to != time.max else timedelta(days=1)
            if end <= start:
                end += timedelta(days=1)  # past midnight
            step, slots, at = self.every.wall(), [], start
            while at < end:
                slots.append(at)
                at += step
            return slots
        fixed = self.at or self.shifts or ((self.daily,) if self.daily else ())
        if self.weekly is not None:
            fixed = (self.weekly.at,)
        return sorted({_since_midnight(t) for t in fixed})

    def serves(self, day: date, calendar: WorkCalendar) -> bool:
        """Whether the routine runs on this service day."""
        if self.weekly is not None and day.weekday() != self.weekly.day.number:
            return False
        return self.days is Days.EVERY or calendar.day(day).kind.is_workday


def _since_midnight(t: time) -> timedelta:
    return timedelta(hours=t.hour, minutes=t.minute, seconds=t.second)


@model
class Routine:
    id: Identifier
    title: TextField
    description: TextField | None = None
    role: str
    schedule: Schedule
    checklist: tuple[TextField, ...] = ()
    window: DurationField = Duration.parse("30m")  # how early a round counts for its occurrence
    warning: OffsetField = Offset.parse("5m after")  # not logged by then: warn
    breach: OffsetField = Offset.parse("15m after")  # not logged by then: missed (breached)
    notify: Notify = Notify(warning=("duty_officer",), breach=("duty_officer", "leader_on_duty"))
    plan: Identifier | None = None  # the plan an abnormal round opens an incident with

    def fingerprint(self) -> str:
        return hashlib.sha256(dumps(self).encode()).hexdigest()[:16]

    def targets(self, stage: str) -> tuple[str, ...]:
        return tuple(getattr(self.notify, stage) or ())


def occurrences(
    schedule: Schedule, start: datetime, end: datetime, zone: ZoneInfo, calendar: WorkCalendar
) -> list[datetime]:
    """Every scheduled time in [start, end), in order; a time belongs to exactly one period."""
    if end <= start:
        return []
    return list(_iterate(schedule, start, end, zone, calendar))


def _iterate(
    schedule: Schedule, start: datetime, end: datetime, zone: ZoneInfo, calendar: WorkCalendar
) -> Iterator[datetime]:
    times = schedule.times()
    # a service day's occurrences reach into the next day at most (a window past midnight)
    day = start.astimezone(zone).date() - timedelta(days=1)
    last = end.astimezone(zone).date()
    while day <= last:
        if schedule.serves(day, calendar):
            midnight = datetime.combine(day, time(0), tzinfo=zone)
            for offset in times:
                # wall time of the day, so a day's slots keep their clock times in any zone
                at = (midnight.replace(tzinfo=None) + offset).replace(tzinfo=zone)
                if start <= at < end:
                    yield at
        day += timedelta(days=1)


def occurrence_number(at: datetime) -> int:
    """A stable number for the occurrence at this instant: minutes since the Unix epoch."""
    return int(at.timestamp()) // 60


def parse_routine(text: str, path: str, *, roles: Collection[str] = ROLES) -> Routine:
    """Read one routine from YAML text; raise SourceErrors listing every problem found."""
    routine, root = read_model(text, path, Routine, "routine")
    problems: list[tuple[list[int | str], str]] = []
    for where, named in (
        (["role"], (routine.role,)),
        (["notify", "warning"], routine.notify.warning or ()),
        (["notify", "breach"], routine.notify.breach or ()),
    ):
        problems += [(list(where), _unknown_role(r, roles)) for r in named if r not in roles]
    if routine.breach.delta < timedelta(0) or routine.warning.delta >= routine.breach.delta:
        problems.append((["breach"], "'breach' is at or after the scheduled time and later than 'warning'"))
    if problems:
        raise SourceErrors([SourceError(path, line_of(root, loc), msg) for loc, msg in problems])
    return routine


def _unknown_role(role: str, roles: Collection[str]) -> str:
    return f"unknown role {role!r}; known roles: {', '.join(roles)}"


@dataclass(frozen=True, slots=True)
class Source:
    """A routine or event plan file: bundled, or one of the centre's own."""

    path: str
    text: str


def load_routines(
    sources: Iterable[Source], *, roles: Collection[str] = ROLES, plans: Collection[str] | None = None
) -> tuple[dict[str, Routine], list[SourceError]]:
    """Parse every source; ids must be unique and named plans must exist. Returns what loaded and
    every error."""
    routines: dict[str, Routine] = {}
    errors: list[SourceError] = []
    for source in sources:
        try:
            routine = parse_routine(source.text, source.path, roles=roles)
        except SourceErrors as exc:
            errors.extend(exc.errors)
            continue
        if routine.id in routines:
            errors.append(
                SourceError(source.path, line_in(source.text, ["id"]), f"duplicate routine id {routine.id!r}")
            )
            continue
        if plans is not None and routine.plan is not None and routine.plan not in plans:
            errors.append(
                SourceError(source.path, line_in(source.text, ["plan"]), f"no plan {routine.plan!r}")
            )
            continue
        routines[routine.id] = routine
    return routines, errors
