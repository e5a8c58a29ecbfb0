"""Merging and linking incidents by hand: the one merged closes as "merged into …" with its
obligations waived; linked ones stay open, each with its plan; the timelines of both show it."""

from __future__ import annotations

from datetime import datetime

from dutydesk.playbooks.commands import Rejected
from dutydesk.playbooks.events import Event, IncidentLinked, IncidentMerged
from dutydesk.playbooks.incidents import Incident


def merge(incident: Incident, into: Incident, *, actor: str, at: datetime, reason: str | None) -> list[Event]:
    """The events of merging open `incident` into `into`: one on each."""
    if incident.id == into.id:
        raise Rejected("merge_self", f"incident {incident.id} cannot be merged into itself")
    if into.closed:
        raise Rejected("closed", f"incident {into.id} is closed", incident=into.id)
    if incident.drill != into.drill:
        raise Rejected("merge_drill", "a drill and a real incident cannot be merged")
    text = (reason or "").strip() or None
    return [
        IncidentMerged(
            at=at,
            incident=side,
            actor=actor,
            drill=incident.drill,
            merged=incident.id,
            into=into.id,
            reason=text,
        )
        for side in (incident.id, into.id)
    ]


def link(incident: Incident, to: Incident, *, actor: str, at: datetime, reason: str | None) -> list[Event]:
    """The events of linking two incidents: one on each."""
    if incident.id == to.id:
        raise Rejected("merge_self", f"incident {incident.id} cannot be linked to itself")
    if incident.drill != to.drill:
        raise Rejected("merge_drill", "a drill and a real incident cannot be linked")
    text = (reason or "").strip() or None
    return [
        IncidentLinked(
            at=at, incident=side, actor=actor, drill=incident.drill, linked=incident.id, to=to.id, reason=text
        )
        for side in (incident.id, to.id)
    ]
