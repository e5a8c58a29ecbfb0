"""Events that amend what the log says, beside the events they amend (the log is never edited):
a milestone retracted, a recorded fact corrected, the roster overridden for a shift. Listed in
`EVENT_TYPES` with all the others (`playbooks/events.py`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from dutydesk.playbooks.eventbase import Event


@dataclass(frozen=True, slots=True, kw_only=True)
class MilestoneRetracted(Event):
    """A milestone recorded by mistake, taken back: what it met is owed again."""

    kind: ClassVar[str] = "incident.milestone_retracted"
    milestone: str
    reached_at: datetime
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class IncidentCorrected(Event):
    """A recorded fact put right (received_at, location, title); the old value stays in the log."""

    kind: ClassVar[str] = "incident.corrected"
    field: str
    value: str
    previous: str
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class RosterOverridden(Event):
    """Somebody else holds a role for the rest of the current shift, set at the desk
    (see `Roster.overridden`); the shift as `Shift.to_dict`."""

    kind: ClassVar[str] = "roster.override"
    shift: dict[str, Any]
