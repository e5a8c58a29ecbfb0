"""The events of routines and planned events, registered beside the incident events in
`events.EVENT_TYPES` (one typed boundary; kept apart so that `events.py` stays readable).

Warnings, breaches and met occurrences reuse `ObligationWarned`, `ObligationBreached` and
`ObligationMet` with no incident and the routine's or task's ref (`duties.routine_ref`,
`duties.task_ref`) as the obligation, so the notices and dispatch machinery tells people alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from dutydesk.playbooks.events import EVENT_TYPES, Event


@dataclass(frozen=True, slots=True, kw_only=True)
class RoutineRegistered(Event):
    """The exact routine the engine times from now on (its occurrences count from the first
    registration); `definition` None: the routine was withdrawn."""

    kind: ClassVar[str] = "routine.registered"
    routine: str
    fingerprint: str
    definition: dict[str, Any] | None


@dataclass(frozen=True, slots=True, kw_only=True)
class DutyDone(Event):
    """A round logged (巡查记录) or an event's task done: normal, or abnormal with a note. `ref`
    names the routine or task; `occurrence` the one it met (None: an extra round). An abnormal
    round that opened an incident carries that incident's id."""

    kind: ClassVar[str] = "duty.done"
    ref: str
    occurrence: int | None
    due_at: datetime | None
    abnormal: bool
    note: str


@dataclass(frozen=True, slots=True, kw_only=True)
class EventScheduled(Event):
    """A planned event (会议, 大型活动) and the event plan it runs on, kept whole like a plan."""

    kind: ClassVar[str] = "event.scheduled"
    event: str
    plan_id: str
    plan: dict[str, Any]
    title: str
    place: str
    start: datetime
    end: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class EventMoved(Event):
    """The event's times changed; its obligations move with them."""

    kind: ClassVar[str] = "event.moved"
    event: str
    start: datetime
    end: datetime
    previous_start: datetime
    previous_end: datetime


DUTY_EVENTS = (RoutineRegistered, DutyDone, EventScheduled, EventMoved)
EVENT_TYPES.update({cls.kind: cls for cls in DUTY_EVENTS})
