"""Command decisions: what a command means in the current state, as events not yet stored."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import TypedDict, assert_never

from dutydesk.playbooks import rectification
from dutydesk.playbooks.alarmbook import Alarm
from dutydesk.playbooks.commands import (
    DESK_COMMANDS,
    INCIDENT_ACTIONS,
    AcknowledgeAlarm,
    AcknowledgeBreach,
    AcknowledgeHandover,
    AddNote,
    Command,
    CompleteObligation,
    CorrectIncident,
    DeskCommand,
    ExplainLate,
    ImportRoster,
    IncidentCommand,
    IssueNumber,
    ItemCommand,
    LinkIncidents,
    MarkUrgent,
    MergeIncident,
    OpenIncident,
    OverrideRoster,
    PostUpdate,
    ReachMilestone,
    RecordFinding,
    Rejected,
    RetractMilestone,
    SetSeverity,
    ShelveAlarm,
    UnmarkUrgent,
    WriteLog,
)
from dutydesk.playbooks.corrections import RETRACT_WITHIN, correct
from dutydesk.playbooks.dispatch import Dispatcher
from dutydesk.playbooks.events import (
    AlarmAcknowledged,
    AlarmShelved,
    DocumentNumbered,
    DutyLogged,
    Event,
    FindingRecorded,
    HandoverAcknowledged,
    IncidentOpened,
    LateExplained,
    MilestoneReached,
    NoteAdded,
    ObligationMet,
    PlanRegistered,
    ProgressUpdated,
    RosterImported,
    RosterOverridden,
    SeverityChanged,
    UrgencyChanged,
)
from dutydesk.playbooks.incidents import Incident, Projection, apply_to
from dutydesk.playbooks.merging import link, merge
from dutydesk.playbooks.obligations import Deadlines, State, Status, evaluate
from dutydesk.playbooks.plans import Plan
from dutydesk.playbooks.rectification import REGISTER_COMMANDS
from dutydesk.playbooks.rules import ByHand, ByMilestone, ByReport, ByUpdate, Recurring
from dutydesk.playbooks.typeddata import dump
from dutydesk.playbooks.vocab import FINDINGS, Milestone

ENGINE_ACTOR = "engine"  # the actor of what the engine decides by itself

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


class Decisions:
    """Checks commands against the projection; nothing changes until the events are applied."""

    def __init__(
        self,
        *,
        plans: Mapping[str, Plan],
        deadlines: Deadlines,
        projection: Projection,
        dispatcher: Dispatcher,
        retract_within: timedelta = RETRACT_WITHIN,
    ) -> None:
        self.plans = plans
        self.retract_within = retract_within
        self.deadlines = deadlines
        self.projection = projection
        self.dispatcher = dispatcher

    def incident(self, incident_id: str) -> Incident:
        incident = self.projection.incidents.get(incident_id)
        if incident is None:
            raise Rejected("unknown_incident", f"no incident {incident_id!r}", incident=incident_id)
        return incident

    def status(self, incident: Incident, now: datetime) -> list[Status]:
        return evaluate(incident, self.deadlines, now)

    def decide(self, command: Command, at: datetime) -> list[Event]:
        """The events `command`, taken at `at`, causes in the current state."""
        if isinstance(command, OpenIncident):
            events = self.open(command, at)
        elif isinstance(command, ImportRoster):
            shifts = tuple(shift.to_dict() for shift in command.shifts)
            events = [
                RosterImported(
                    at=at, incident=None, actor=command.actor, source=command.source, shifts=shifts
                )
            ]
        elif isinstance(command, IncidentCommand | ItemCommand):
            incident = self.incident(
                command.incident
                if isinstance(command, IncidentCommand)
                else self.projection.register.get(command.item).incident
            )
            events = self._act(incident, command, at)
            events += self._obligations_met(incident, events, command, at)
        elif isinstance(command, IssueNumber):
            events = self.number(command, at)
            if command.incident is not None and events:
                events += self._obligations_met(self.incident(command.incident), events, command, at)
        elif isinstance(command, DESK_COMMANDS):
            events = [self._desk(command, at)]
        else:
            raise TypeError(f"unknown command {type(command).__name__}")
        return events

    def number(self, command: IssueNumber, at: datetime) -> list[Event]:
        """The subject's number if it has one (a document keeps its number however often it is
        made again), else the next serial of the prefix and year: decided inside the write
        transaction on the caught-up log, so two processes never get the same."""
        if (command.document, command.subject) in self.projection.numbers:
            return []
        serial = self.projection.serials.get((command.prefix, command.year), 0) + 1
        return [
            DocumentNumbered(
                at=at,
                incident=command.incident,
                actor=command.actor,
                document=command.document,
                subject=command.subject,
                prefix=command.prefix,
                year=command.year,
                serial=serial,
                number=f"{command.prefix}〔{command.year}〕{serial}号",
            )
        ]

    def open(self, command: OpenIncident, at: datetime, already: int = 0) -> list[Event]:
        """`already`: incidents opened earlier in the same decision, not yet applied."""
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
                    drill=command.drill,
                    fingerprint=fingerprint,
                    plan=dump(plan),
                )
            )
        prefix = ("D" if command.drill else "") + at.astimezone(self.deadlines.zone).strftime("%Y%m%d")
        incident_id = f"{prefix}-{self.projection.daily.get(prefix, 0) + 1 + already:03d}"
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

    # one case per incident action, exhaustive (assert_never): one piece on purpose
    def _act(self, incident: Incident, command: IncidentCommand | ItemCommand, at: datetime) -> list[Event]:  # noqa: C901
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
        if isinstance(command, REGISTER_COMMANDS):
            return rectification.act(self.projection.register, incident, command, at, self.deadlines)
        if not isinstance(command, INCIDENT_ACTIONS):
            raise TypeError(f"unknown command {type(command).__name__}")
        match command:
            case ReachMilestone(milestone=milestone, text=text):
                return [self._milestone(incident, milestone, text, at, head)]
            case RecordFinding(section=section, text=text):
                if section not in FINDINGS:
                    raise Rejected("bad_section", f"no section {section!r}", section=section)
                if not text.strip():
                    raise Rejected("empty", "the text is empty", field="text")
                return [FindingRecorded(**head, section=section, text=text.strip())]
            case ExplainLate():
                return [self._explain(incident, command, at, head)]
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
            case MergeIncident(into=into, reason=reason):
                return merge(incident, self.incident(into), actor=command.actor, at=at, reason=reason)
            case LinkIncidents(to=to, reason=reason):
                return link(incident, self.incident(to), actor=command.actor, at=at, reason=reason)
            case UnmarkUrgent() | CorrectIncident() | RetractMilestone():
                return [correct(incident, command, at, requires=REQUIRES, retract_within=self.retract_within)]
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
            case AcknowledgeBreach(obligation=obligation, channel=channel):
                return self.dispatcher.acknowledge(
                    incident, obligation, at=at, actor=command.actor, channel=channel
                )
            case AddNote():
                raise AssertionError("a note is decided above, also on a closed incident")
            case unknown:
                assert_never(unknown)

    def _desk(self, command: DeskCommand, at: datetime) -> Event:
        """The duty log, the handover and alarm acknowledgements: things not of one incident."""
        head = Header(at=at, incident=None, actor=command.actor, drill=False)
        text = getattr(command, "text", None) or getattr(command, "reason", None)
        if isinstance(command, WriteLog | AcknowledgeAlarm | ShelveAlarm) and not (text or "").strip():
            raise Rejected("empty", "the text is empty", field="text")
        match command:
            case WriteLog(text=text):
                return DutyLogged(**head, text=text.strip())
            case OverrideRoster(role=role, holder=holder):
                if not holder.strip():
                    raise Rejected("empty", "the holder is empty", field="holder")
                shift = self.projection.notices.roster.override(role, holder.strip(), at)
                return RosterOverridden(**head, shift=shift.to_dict())
            case AcknowledgeHandover(outgoing=outgoing, summary=summary):
                return HandoverAcknowledged(**head, outgoing=outgoing, summary=summary)
            case AcknowledgeAlarm(key=key, reason=reason):
                alarm = self._alarm(key)
                return AlarmAcknowledged(
                    **head | {"incident": alarm.incident}, key=key, reason=reason.strip()
                )
            case ShelveAlarm(key=key, reason=reason, until=until):
                alarm = self._alarm(key)
                if until <= at:
                    raise Rejected("shelve_past", "a shelving must end in the future", until=until)
                return AlarmShelved(
                    **head | {"incident": alarm.incident}, key=key, reason=reason.strip(), until=until
                )
            case unknown:
                assert_never(unknown)

    def _explain(self, incident: Incident, command: ExplainLate, at: datetime, head: Header) -> LateExplained:
        """Only a late occurrence takes a reason: one met after its due time, or breached."""
        obligation, occurrence, text = command.obligation, command.occurrence, command.text
        late = [
            s
            for s in self.status(incident, at)
            if s.key == (obligation, occurrence)
            and (s.state is State.BREACHED or (s.met_at and s.due_at and s.met_at > s.due_at))
        ]
        if not late:
            raise Rejected(
                "not_late",
                f"{obligation} #{occurrence} of {incident.id} was not late",
                obligation=obligation,
                occurrence=occurrence,
            )
        if not text.strip():
            raise Rejected("empty", "the reason is empty", field="text")
        return LateExplained(**head, obligation=obligation, occurrence=occurrence, text=text.strip())

    def _alarm(self, key: str) -> Alarm:
        alarm = self.projection.alarms.alarms.get(key)
        if alarm is None:
            raise Rejected("unknown_alarm", f"no alarm {key!r}", key=key)
        return alarm

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
        if milestone is Milestone.RECTIFIED and (items := self.projection.register.open_items(incident.id)):
            raise Rejected(
                "items_open",
                f"rectification items are still open ({', '.join(items)})",
                items=", ".join(items),
            )
        if milestone is Milestone.CLOSED and not (text and text.strip()):
            open_items = [s.obligation.id for s in self.status(incident, at) if s.outstanding]
            open_items += self.projection.register.open_items(incident.id)
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
        self,
        incident: Incident,
        primary: list[Event],
        command: IncidentCommand | ItemCommand | IssueNumber,
        at: datetime,
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
        if isinstance(status.obligation.timing, Recurring) and status.state is State.BREACHED:
            return None  # a period that passed without an update stays missed
        match status.obligation.meets:
            case ByHand():
                return at if status.obligation.id == manual else None
            case ByUpdate():
                return at if isinstance(command, PostUpdate) and status.anchor_at <= at else None
            case ByMilestone(milestone=milestone):
                reached = incident.milestones.get(milestone)
                return max(reached, status.anchor_at) if reached is not None else None
            case ByReport(stage=stage):
                # an information report's subject is INCIDENT/first, INCIDENT/follow-N, INCIDENT/final
                if not (isinstance(command, IssueNumber) and command.document == "info"):
                    return None
                issued = command.subject.rpartition("/")[2].split("-")[0]
                return at if issued == stage and status.anchor_at <= at else None
            case unknown:
                assert_never(unknown)

    def _refuse_manual(self, incident: Incident, obligation_id: str, at: datetime) -> None:
        statuses = [s for s in self.status(incident, at) if s.obligation.id == obligation_id]
        if not statuses:
            raise Rejected(
                "unknown_obligation",
                f"plan {incident.plan.id} has no obligation {obligation_id!r} for this incident",
                obligation=obligation_id,
            )
        current = statuses[-1]
        if not isinstance(current.obligation.meets, ByHand):
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
