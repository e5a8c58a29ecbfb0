"""Putting mistakes right, as events beside the ones they correct (the log is never edited):
urgent taken back; a received time, place or title corrected; a milestone pressed by mistake
retracted soon after. Each needs a reason; the obligations follow from the corrected facts."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from dutydesk.playbooks.commands import CorrectIncident, Rejected, RetractMilestone, UnmarkUrgent
from dutydesk.playbooks.events import Event, IncidentCorrected, MilestoneRetracted, UrgencyChanged
from dutydesk.playbooks.incidents import Incident
from dutydesk.playbooks.vocab import Milestone

RETRACT_WITHIN = timedelta(minutes=30)  # how long after it was recorded a milestone can be taken back
CORRECTABLE = ("received_at", "location", "title")
FIXED = (Milestone.RECEIVED, Milestone.CLOSED)  # the first is corrected, the last never undone

Correction = UnmarkUrgent | CorrectIncident | RetractMilestone


def correct(
    incident: Incident,
    command: Correction,
    at: datetime,
    *,
    requires: Mapping[Milestone, Milestone],
    retract_within: timedelta = RETRACT_WITHIN,
) -> Event:
    """The event that puts it right, or Rejected saying why it cannot be. `requires`: which
    milestone each one needs first (a milestone others rest on is not retracted before them)."""
    reason = command.reason.strip()
    if not reason:
        raise Rejected("empty", "a correction needs its reason", field="reason")
    match command:
        case UnmarkUrgent():
            if not incident.urgent:
                raise Rejected("not_urgent", f"incident {incident.id} is not urgent", incident=incident.id)
            return UrgencyChanged(
                at=at,
                incident=incident.id,
                actor=command.actor,
                drill=incident.drill,
                urgent=False,
                reason=reason,
            )
        case CorrectIncident(field=field, value=value):
            return IncidentCorrected(
                at=at,
                incident=incident.id,
                actor=command.actor,
                drill=incident.drill,
                field=field,
                value=_checked(incident, field, value.strip(), at),
                previous=_value(incident, field),
                reason=reason,
            )
        case RetractMilestone(milestone=milestone):
            reached = _retractable(incident, milestone, at, requires, retract_within)
            return MilestoneRetracted(
                at=at,
                incident=incident.id,
                actor=command.actor,
                drill=incident.drill,
                milestone=milestone.value,
                reached_at=reached,
                reason=reason,
            )


def _value(incident: Incident, field: str) -> str:
    if field == "received_at":
        return incident.received_at.isoformat()
    return (incident.location if field == "location" else incident.title) or ""


def _checked(incident: Incident, field: str, value: str, at: datetime) -> str:
    """The corrected value as it will be stored, or Rejected."""
    if field not in CORRECTABLE:
        raise Rejected("not_correctable", f"{field!r} cannot be corrected", field=field)
    if field == "title" and not value:
        raise Rejected("empty", "the title is empty", field="title")
    if field != "received_at":
        return value
    try:
        received = datetime.fromisoformat(value)
    except ValueError:
        raise Rejected("bad_time", f"cannot read the time {value!r}", text=value) from None
    if received.tzinfo is None:
        raise Rejected("bad_time", f"{value!r} has no time zone", text=value)
    if received > at:
        raise Rejected("future", f"{value} is in the future", at=received)
    later = sorted((when, step) for step, when in incident.milestones.items() if step != Milestone.RECEIVED)
    if later and received > later[0][0]:
        when, step = later[0]
        raise Rejected(
            "received_after",
            f"the incident cannot be received after it was {step} ({when.isoformat()})",
            milestone=Milestone(step),
            at=when,
        )
    return received.isoformat()


def _retractable(
    incident: Incident,
    milestone: Milestone,
    at: datetime,
    requires: Mapping[Milestone, Milestone],
    within: timedelta,
) -> datetime:
    """When the milestone was reached, if it may be taken back now; else Rejected."""
    if milestone in FIXED:
        raise Rejected("not_retractable", f"{milestone.value} cannot be retracted", milestone=milestone)
    reached = incident.milestones.get(milestone)
    if reached is None:
        raise Rejected("not_reached", f"the incident is not {milestone.value}", milestone=milestone)
    if at - reached > within:
        raise Rejected(
            "retract_late",
            f"{milestone.value} was recorded at {reached.isoformat()}, more than {within} ago",
            milestone=milestone,
            at=reached,
            minutes=int(within.total_seconds() // 60),
        )
    resting = [m for m, needed in requires.items() if needed is milestone and m in incident.milestones]
    if resting:
        raise Rejected(
            "retract_later_first",
            f"{resting[0].value} rests on {milestone.value}; retract it first",
            milestone=milestone,
            needed=resting[0],
        )
    return reached
