"""The engine: turns commands into events, folds events into state, and fires deadlines on time.

It is pure: no I/O, no system clock. Callers hand it the time, persist what it returns, then feed
the persisted events back through `apply`, so the event log stays the single source of truth.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypedDict

from dutydesk.playbooks.commands import (
    AddNote,
    Command,
    CompleteObligation,
    IncidentCommand,
    MarkUrgent,
    OpenIncident,
    PostUpdate,
    ReachMilestone,
    Rejected,
    SetSeverity,
)
from dutydesk.playbooks.events import (
    Event,
    IncidentOpened,
    MilestoneReached,
    NoteAdded,
    ObligationBreached,
    ObligationMet,
    ObligationWarned,
    PlanRegistered,
    ProgressUpdated,
    SeverityChanged,
    UrgencyChanged,
)
from dutydesk.playbooks.incidents import Incident, Projection, apply_to
from dutydesk.playbooks.obligations import Deadlines, State, Status, evaluate
from dutydesk.playbooks.plans import MET_BY_MANUAL, MET_BY_UPDATE, Plan
from dutydesk.playbooks.vocab import Milestone

ENGINE_ACTOR = "engine"
FUTURE_TOLERANCE = timedelta(minutes=1)
RETRY_AFTER = timedelta(seconds=1)

# Each milestone may only follow the one it names (investigation needs the incident stabilised...).
REQUIRES = {
    Milestone.INVESTIGATED: Milestone.STABILISED,
    Milestone.RECTIFIED: Milestone.INVESTIGATED,
    Milestone.FEEDBACK: Milestone.RECTIFIED,
}


class Header(TypedDict):
    """The fields every event of an incident carries."""

    at: datetime
    incident: str | None
    actor: str
    drill: bool


@dataclass(frozen=True, slots=True)
class Keyed:
    """An event with its idempotency key: writing the same key twice stores it once."""

    key: str
    event: Event


class Engine:
    def __init__(
        self,
        *,
        plans: Mapping[str, Plan],
        deadlines: Deadlines,
        projection: Projection | None = None,
    ) -> None:
        self.plans = dict(plans)
        self.deadlines = deadlines
        self.projection = projection or Projection()
        self._heap: list[tuple[datetime, int, str, int]] = []
        self._versions: dict[str, int] = {}
        self._order = itertools.count()
        for incident in self.projection.incidents.open():
            self._schedule(incident)

    # -- state ---------------------------------------------------------------------------------

    @property
    def seq(self) -> int:
        return self.projection.seq

    def incident(self, incident_id: str) -> Incident:
        incident = self.projection.incidents.get(incident_id)
        if incident is None:
            raise Rejected("unknown_incident", f"no incident {incident_id!r}", incident=incident_id)
        return incident

    def status(self, incident: Incident, now: datetime) -> list[Status]:
        return evaluate(incident, self.deadlines, now)

    def apply(self, event: Event, seq: int) -> Incident | None:
        """Fold in a persisted event and re-arm the deadlines of the incident it touched."""
        incident = self.projection.apply(event, seq)
        if incident is not None:
            self._schedule(incident)
        return incident

    def load(self, events: Iterable[tuple[int, Event]]) -> None:
        """Replay many persisted events, arming deadlines once at the end (restart)."""
        touched: dict[str, Incident] = {}
        for seq, event in events:
            incident = self.projection.apply(event, seq)
            if incident is not None:
                touched[incident.id] = incident
        for incident in touched.values():
            self._schedule(incident)

    # -- time ----------------------------------------------------------------------------------

    def next_wakeup(self) -> datetime | None:
        """When `tick` next has something to do."""
        heap = self._heap
        while heap and self._versions.get(heap[0][2]) != heap[0][3]:
            heapq.heappop(heap)  # superseded by a later schedule of the same incident
        return heap[0][0] if heap else None

    def tick(self, now: datetime) -> list[Keyed]:
        """Warnings and breaches due by `now`. The cost depends on what is due, not on how much is armed."""
        out: list[Keyed] = []
        while self._heap and self._heap[0][0] <= now:
            _, _, incident_id, version = heapq.heappop(self._heap)
            if self._versions.get(incident_id) != version:
                continue
            incident = self.projection.incidents[incident_id]
            fired = self._timer_events(incident, now)
            if fired:
                out.extend(fired)
                # applying these re-arms the incident; should they fail to be stored, retry
                self._push(now + RETRY_AFTER, incident_id, version)
            else:
                self._schedule(incident, not_before=now + RETRY_AFTER)
        return out

    def _timer_events(self, incident: Incident, now: datetime) -> list[Keyed]:
        out = []
        for status in self.status(incident, now):
            ob, due = status.obligation, status.due_at
            assert due is not None or status.state is State.PENDING or status.state is State.WAIVED
            if status.state is State.WARNING and status.key not in incident.warned and due:
                event: Event = ObligationWarned(
                    at=now,
                    incident=incident.id,
                    actor=ENGINE_ACTOR,
                    drill=incident.drill,
                    obligation=ob.id,
                    occurrence=status.occurrence,
                    due_at=due,
                    notify=incident.plan.targets(ob, "warning", incident.severity),
                )
                out.append(Keyed(f"{incident.id}/{ob.id}#{status.occurrence}/warned", event))
            elif status.state is State.BREACHED and status.key not in incident.breached and due:
                event = ObligationBreached(
                    at=now,
                    incident=incident.id,
                    actor=ENGINE_ACTOR,
                    drill=incident.drill,
                    obligation=ob.id,
                    occurrence=status.occurrence,
                    due_at=due,
                    late_seconds=(now - due).total_seconds(),
                    notify=incident.plan.targets(ob, "breach", incident.severity),
                )
                out.append(Keyed(f"{incident.id}/{ob.id}#{status.occurrence}/breached", event))
        return out

    def _schedule(self, incident: Incident, not_before: datetime | None = None) -> None:
        """Put the incident's next warning or deadline on the heap, replacing any earlier entry.

        `not_before` guards the timer loop: a time that fired nothing is not tried again at once."""
        version = self._versions.get(incident.id, 0) + 1
        self._versions[incident.id] = version
        if incident.closed:
            return
        times = []
        for status in self.status(incident, incident.received_at):
            if status.due_at is None or status.met_at is not None or status.state is State.WAIVED:
                continue
            if status.key in incident.breached:
                continue
            times.append(status.due_at)
            if status.key not in incident.warned and status.warn_at is not None:
                times.append(status.warn_at)
        if times:
            when = min(times)
            self._push(max(when, not_before) if not_before else when, incident.id, version)

    def _push(self, when: datetime, incident_id: str, version: int) -> None:
        heapq.heappush(self._heap, (when, next(self._order), incident_id, version))

    # -- commands ------------------------------------------------------------------------------

    def handle(self, command: Command, now: datetime) -> list[Keyed]:
        """Check a command against the current state and return the events it causes.

        Nothing changes until the caller has stored the events and applied them."""
        at = command.at or now
        if at > now + FUTURE_TOLERANCE:
            raise Rejected("future", f"{at.isoformat()} is in the future", at=at)
        if isinstance(command, OpenIncident):
            events = self._open(command, at)
        elif isinstance(command, IncidentCommand):
            incident = self.incident(command.incident)
            events = self._act(incident, command, at)
            events += self._obligations_met(incident, events, command, at)
        else:
            raise TypeError(f"unknown command {type(command).__name__}")
        return [Keyed(f"{command.request_id}:{n}", event) for n, event in enumerate(events)]

    def _open(self, command: OpenIncident, at: datetime) -> list[Event]:
        plan = self.plans.get(command.plan_id)
        if plan is None:
            raise Rejected(
                "unknown_plan",
                f"no plan {command.plan_id!r}; see `dutydesk plans list`",
                plan=command.plan_id,
            )
        if not command.title.strip():
            raise Rejected("empty", "the title is empty", field="title")
        fingerprint = plan.fingerprint()
        events: list[Event] = []
        if fingerprint not in self.projection.plans:
            events.append(
                PlanRegistered(
                    at=at,
                    incident=None,
                    actor=command.actor,
                    fingerprint=fingerprint,
                    plan=plan.model_dump(mode="json"),
                )
            )
        prefix = ("D" if command.drill else "") + at.astimezone(self.deadlines.zone).strftime("%Y%m%d")
        incident_id = f"{prefix}-{self.projection.daily.get(prefix, 0) + 1:03d}"
        events.append(
            IncidentOpened(
                at=at,
                incident=incident_id,
                actor=command.actor,
                drill=command.drill,
                plan_id=plan.id,
                plan_fingerprint=fingerprint,
                title=command.title.strip(),
                severity=(command.severity or plan.severity).id,
                urgent=command.urgent,
                source=command.source.value,
                location=command.location,
                description=command.description,
                trigger=command.trigger,
            )
        )
        return events

    def _act(self, incident: Incident, command: IncidentCommand, at: datetime) -> list[Event]:
        head = Header(at=at, incident=incident.id, actor=command.actor, drill=incident.drill)
        if isinstance(command, AddNote):
            if not command.text.strip():
                raise Rejected("empty", "the note is empty", field="text")
            return [NoteAdded(**head, text=command.text.strip())]
        if incident.closed:
            raise Rejected("closed", f"incident {incident.id} is closed", incident=incident.id)
        if at < incident.received_at:
            raise Rejected(
                "before_received",
                f"{at.isoformat()} is before the incident was received ({incident.received_at.isoformat()})",
                at=at,
                received=incident.received_at,
            )
        match command:
            case ReachMilestone(milestone=milestone, text=text):
                return [self._milestone(incident, milestone, text, at, head)]
            case PostUpdate():
                parts = {
                    "measures": command.measures.strip(),
                    "status": command.status.strip(),
                    "next_steps": command.next_steps.strip(),
                }
                for name, value in parts.items():
                    if not value:
                        raise Rejected(
                            "empty_part",
                            f"a progress update needs all three parts; {name!r} is empty",
                            field=name,
                        )
                return [
                    ProgressUpdated(
                        **head,
                        measures=parts["measures"],
                        status=parts["status"],
                        next_steps=parts["next_steps"],
                    )
                ]
            case MarkUrgent():
                if incident.urgent:
                    raise Rejected("already_urgent", f"incident {incident.id} is already urgent")
                return [UrgencyChanged(**head, urgent=True)]
            case SetSeverity(severity=severity):
                if severity == incident.severity:
                    raise Rejected(
                        "same_severity", f"severity is already {severity.id}", severity=severity.id
                    )
                return [SeverityChanged(**head, severity=severity.id, previous=incident.severity.id)]
            case CompleteObligation():
                return []  # the obligation met is all there is to it; see _obligations_met
        raise TypeError(f"unknown command {type(command).__name__}")

    def _milestone(
        self,
        incident: Incident,
        milestone: Milestone,
        text: str | None,
        at: datetime,
        head: Header,
    ) -> MilestoneReached:
        if milestone is Milestone.RECEIVED:
            raise Rejected("bad_milestone", "an incident is received when it is opened")
        if milestone in incident.milestones:
            when = incident.milestones[milestone]
            raise Rejected(
                "already",
                f"incident {incident.id} is already {milestone.value} (at {when.isoformat()})",
                milestone=milestone,
                at=when,
            )
        needed = REQUIRES.get(milestone)
        if needed is not None:
            if needed not in incident.milestones:
                raise Rejected(
                    "requires",
                    f"{milestone.value} needs the incident {needed.value} first",
                    milestone=milestone,
                    needed=needed,
                )
            if at < incident.milestones[needed]:
                raise Rejected(
                    "before_previous",
                    f"{milestone.value} cannot be before {needed.value} "
                    f"({incident.milestones[needed].isoformat()})",
                    milestone=milestone,
                    needed=needed,
                )
        if milestone is Milestone.CLOSED and not (text and text.strip()):
            open_items = [s.obligation.id for s in self.status(incident, at) if s.outstanding]
            if open_items:
                raise Rejected(
                    "close_outstanding",
                    "obligations are still outstanding ("
                    + ", ".join(dict.fromkeys(open_items))
                    + "); give a reason to close anyway",
                    items=", ".join(dict.fromkeys(open_items)),
                )
        return MilestoneReached(**head, milestone=milestone.value, text=text)

    def _obligations_met(
        self, incident: Incident, primary: list[Event], command: IncidentCommand, at: datetime
    ) -> list[Event]:
        """The obligations this action meets, with their margins; a met obligation may arm and
        meet another, so look again until nothing changes."""
        after = incident.copy()
        for event in primary:
            apply_to(after, event)
        met: list[Event] = []
        manual = command.obligation if isinstance(command, CompleteObligation) else None
        done: set[str] = set()  # one action meets each obligation once at most
        for _ in range(len(incident.plan.obligations) + 1):
            found: list[ObligationMet] = []
            for status in self.status(after, at):
                if status.obligation.id in done:
                    continue
                when = self._meets(after, status, command, manual, at)
                if when is not None:
                    found.append(
                        ObligationMet(
                            at=when,
                            incident=incident.id,
                            actor=command.actor,
                            drill=incident.drill,
                            obligation=status.obligation.id,
                            occurrence=status.occurrence,
                            due_at=status.due_at,
                            margin_seconds=(status.due_at - when).total_seconds() if status.due_at else None,
                            by=type(command).__name__,
                        )
                    )
            if not found:
                break
            for event in found:
                apply_to(after, event)
                done.add(event.obligation)
            met.extend(found)
        if manual is not None and not any(
            isinstance(e, ObligationMet) and e.obligation == manual for e in met
        ):
            self._refuse_manual(incident, manual, at)
        return met

    @staticmethod
    def _meets(
        incident: Incident, status: Status, command: Command, manual: str | None, at: datetime
    ) -> datetime | None:
        """When this action meets this obligation occurrence, or None if it does not."""
        if status.met_at is not None or status.state is State.WAIVED or status.anchor_at is None:
            return None
        how = status.obligation.met_by
        if how == MET_BY_MANUAL:
            return at if status.obligation.id == manual else None
        if how == MET_BY_UPDATE:
            return at if isinstance(command, PostUpdate) and status.anchor_at <= at else None
        reached = incident.milestones.get(how)
        return max(reached, status.anchor_at) if reached is not None else None

    def _refuse_manual(self, incident: Incident, obligation_id: str, at: datetime) -> None:
        statuses = [s for s in self.status(incident, at) if s.obligation.id == obligation_id]
        if not statuses:
            raise Rejected(
                "unknown_obligation",
                f"plan {incident.plan.id} has no obligation {obligation_id!r} for this incident",
                obligation=obligation_id,
            )
        current = statuses[-1]
        if current.obligation.met_by != MET_BY_MANUAL:
            raise Rejected(
                "not_manual",
                f"{obligation_id!r} is met by {current.obligation.met_by!r}, not by hand",
                obligation=obligation_id,
                met_by=current.obligation.met_by,
            )
        if current.anchor_at is None:
            raise Rejected(
                "not_armed",
                f"{obligation_id!r} has not started: it waits for {current.obligation.after!r}",
                obligation=obligation_id,
            )
        raise Rejected("already_met", f"{obligation_id!r} is already met", obligation=obligation_id)
