"""What routines and planned events owe: each occurrence with its time, warning point and deadline.

Like incident obligations, these are derived, never stored: from a routine's schedule and the
time it was registered, or from an event's plan, start and end. Moving an event moves them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from dutydesk.playbooks.eventplans import Anchor, EventPlan, Task
from dutydesk.playbooks.plans import Text
from dutydesk.playbooks.routines import Offset, Routine, occurrence_number, occurrences

if TYPE_CHECKING:  # obligations imports the incident projection, which holds the duty book
    from dutydesk.playbooks.obligations import Deadlines

ROUND_WINDOW = timedelta(minutes=30)  # an event round counts from this long before its time
ROUND_WARNING = Offset.parse("5m after")
ROUND_BREACH = Offset.parse("15m after")
TASK_WARNING = Offset.parse("30m before")
TASK_BREACH = Offset.parse("0m")


def routine_ref(routine_id: str) -> str:
    """The obligation name a routine's warnings, breaches and rounds carry in the log."""
    return f"routine:{routine_id}"


def task_ref(event_id: str, task_id: str) -> str:
    return f"event:{event_id}/{task_id}"


@dataclass(frozen=True, slots=True)
class Owed:
    """One occurrence owed: shown as due `at`; counts from `opens`; warns at `warn_at`; missed
    (breached) at `due_at`."""

    ref: str
    occurrence: int
    title: Text
    role: str
    at: datetime
    opens: datetime | None  # None: any time before it is due
    warn_at: datetime
    due_at: datetime
    provisional: bool = False

    @property
    def key(self) -> tuple[str, int]:
        return (self.ref, self.occurrence)

    def counts_at(self, when: datetime) -> bool:
        """Whether a round logged at `when` may meet this occurrence."""
        return self.opens is None or when >= self.opens


def routine_owed(routine: Routine, start: datetime, end: datetime, deadlines: Deadlines) -> list[Owed]:
    """The routine's occurrences scheduled in [start, end)."""
    slots = occurrences(routine.schedule, start, end, deadlines.zone, deadlines.calendar)
    return [_round(routine_ref(routine.id), occurrence_number(at), routine, at) for at in slots]


def _round(ref: str, number: int, owner: Routine | Task, at: datetime) -> Owed:
    window = owner.window.wall() if owner.window is not None else ROUND_WINDOW
    return Owed(
        ref=ref,
        occurrence=number,
        title=owner.title,
        role=owner.role,
        at=at,
        opens=at - window,
        warn_at=(owner.warning or ROUND_WARNING).apply(at),
        due_at=(owner.breach or ROUND_BREACH).apply(at),
    )


def event_owed(
    event_id: str, plan: EventPlan, start: datetime, end: datetime, deadlines: Deadlines
) -> list[Owed]:
    """Everything the event owes, in plan order; rounds numbered from 1 while the event runs."""
    return [owed for task in plan.tasks for owed in _task_owed(event_id, task, start, end, deadlines)]


def _task_owed(
    event_id: str, task: Task, start: datetime, end: datetime, deadlines: Deadlines
) -> Iterator[Owed]:
    ref = task_ref(event_id, task.id)
    if task.every is not None:
        at, number = start, 1
        while at < end:
            yield _round(ref, number, task, at)
            at, number = at + task.every.wall(), number + 1
        return
    assert task.due is not None  # the model guarantees one of them
    anchor = start if task.due.anchor is Anchor.START else end
    if task.due.before:
        at, provisional = anchor - task.due.amount.wall(), False
    else:
        at, provisional = deadlines.due(anchor, task.due.amount)
    yield Owed(
        ref=ref,
        occurrence=1,
        title=task.title,
        role=task.role,
        at=at,
        opens=None,
        warn_at=(task.warning or TASK_WARNING).apply(at),
        due_at=(task.breach or TASK_BREACH).apply(at),
        provisional=provisional,
    )
