"""The engine: turns commands into events, folds events into state, and fires deadlines on time.

It is pure: no I/O, no system clock. Callers hand it the time, persist what it returns, then feed
the persisted events back through `apply`, so the event log stays the single source of truth.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import heapq
import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypedDict

from dutydesk.playbooks import rectification
from dutydesk.playbooks.alarmbook import Alarm
from dutydesk.playbooks.alarms import Arrival, Debounce, Decoded, Feed
from dutydesk.playbooks.commands import (
    AcknowledgeAlarm,
    AcknowledgeBreach,
    AcknowledgeHandover,
    AddNote,
    Command,
    CompleteObligation,
    CorrectIncident,
    ImportRoster,
    IncidentCommand,
    ItemCommand,
    MarkUrgent,
    OpenIncident,
    OverrideRoster,
    PostUpdate,
    ReachMilestone,
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
    AlarmChanged,
    AlarmObserved,
    AlarmShelved,
    DutyLogged,
    Event,
    HandoverAcknowledged,
    IncidentOpened,
    MilestoneReached,
    NoteAdded,
    ObligationBreached,
    ObligationMet,
    ObligationWarned,
    PlanRegistered,
    ProgressUpdated,
    RosterImported,
    RosterOverridden,
    SeverityChanged,
    UrgencyChanged,
)
from dutydesk.playbooks.incidents import Incident, Projection, apply_to
from dutydesk.playbooks.notices import NoticePolicy
from dutydesk.playbooks.obligations import Deadlines, State, Status, evaluate
from dutydesk.playbooks.plans import MET_BY_MANUAL, MET_BY_UPDATE, Plan
from dutydesk.playbooks.rectification import REGISTER_COMMANDS, Item
from dutydesk.playbooks.text import decoded_sanitised, sanitised
from dutydesk.playbooks.vocab import Milestone, Severity, Source

ENGINE_ACTOR = "engine"
FUTURE_TOLERANCE = timedelta(minutes=1)
RETRY_AFTER = timedelta(seconds=1)
SWEEP = "sweep"  # the heap entry that looks for silent devices
SWEEP_EVERY = timedelta(seconds=10)

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
        feeds: Mapping[str, Feed] | None = None,
        debounce: Debounce | None = None,
        notices: NoticePolicy | None = None,
        retract_within: timedelta = RETRACT_WITHIN,
    ) -> None:
        self.plans = dict(plans)
        self.retract_within = retract_within
        self.deadlines = deadlines
        self.projection = projection or Projection()
        self.feeds = dict(feeds or {})
        self.debounce = debounce or Debounce()
        # one heap for everything timed; entries name an incident ("i:"), an alarm waiting out
        # its raise delay or hysteresis ("a:"), a rectification item's reminders ("r:"), or the
        # stale-device sweep; superseded entries are skipped by their version
        self._heap: list[tuple[datetime, int, str, int]] = []
        self._versions: dict[str, int] = {}
        self._order = itertools.count()
        self._plan_by_kind: dict[str, Plan | None] = {}
        for incident in self.projection.incidents.open():
            self._schedule(incident)
        for alarm in self.projection.alarms.alarms.values():
            self._schedule_alarm(alarm)
        # notification timers (escalations, digests) keep their own heaps; None: decide none
        self.dispatcher = Dispatcher(self.projection, notices)
        for item in self.projection.register.items.values():
            self._schedule_item(item)

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

    def apply(self, event: Event, seq: int) -> None:
        """Fold in a persisted event and re-arm whatever it touched."""
        touched = self.projection.apply(event, seq)
        if isinstance(touched, Incident):
            self._schedule(touched)
        elif isinstance(touched, Alarm):
            self._schedule_alarm(touched)
        elif isinstance(touched, Item):
            self._schedule_item(touched)
        self.dispatcher.applied(event)

    def load(self, events: Iterable[tuple[int, Event]]) -> None:
        """Replay many persisted events, arming deadlines once at the end (restart)."""
        touched: dict[str, Incident | Alarm | Item] = {}
        for seq, event in events:
            item = self.projection.apply(event, seq)
            if item is not None:
                key = item.key if isinstance(item, Alarm) else f"{type(item).__name__}:{item.id}"
                touched[key] = item
        for item in touched.values():
            if isinstance(item, Incident):
                self._schedule(item)
            elif isinstance(item, Item):
                self._schedule_item(item)
            else:
                self._schedule_alarm(item)
        self.dispatcher.rebuild()

    def started(self, now: datetime) -> None:
        """The engine starts running at `now`: device silence counts from here."""
        self.projection.alarms.started(now)
        if any(feed.stale_after for feed in self.feeds.values()):
            self._versions[SWEEP] = 1
            self._push(now + SWEEP_EVERY, SWEEP, 1)

    # -- time ----------------------------------------------------------------------------------

    def next_wakeup(self) -> datetime | None:
        """When `tick` next has something to do."""
        heap = self._heap
        while heap and self._versions.get(heap[0][2]) != heap[0][3]:
            heapq.heappop(heap)  # superseded by a later schedule of the same incident
        times = [t for t in (heap[0][0] if heap else None, self.dispatcher.next_wakeup()) if t is not None]
        return min(times) if times else None

    def tick(self, now: datetime) -> list[Keyed]:
        """Everything due by `now`: warnings, breaches, confirmed alarms, stale devices.

        The cost depends on what is due, not on how much is armed."""
        out: list[Keyed] = []
        while self._heap and self._heap[0][0] <= now:
            _, _, ref, version = heapq.heappop(self._heap)
            if self._versions.get(ref) != version:
                continue
            if ref == SWEEP:
                stale = self.projection.alarms.stale(self.feeds, now, drill=False)
                out += [Keyed(f"stale:{e.device}@{now.isoformat()}", e) for e in stale]
                self._push(now + SWEEP_EVERY, ref, version)
                continue
            kind, name = ref.split(":", 1)
            if kind == "a":
                fired = self._alarm_events(self.projection.alarms.alarms[name], now)
            elif kind == "r":
                fired = self._item_events(self.projection.register.items[name], now)
            else:
                fired = self._timer_events(self.projection.incidents[name], now)
            if fired:
                out.extend(fired)
                # applying these re-arms what they touched; should they fail to be stored, retry
                self._push(now + RETRY_AFTER, ref, version)
            elif kind == "a":
                self._versions.pop(ref, None)
            elif kind == "r":
                self._schedule_item(self.projection.register.items[name], not_before=now + RETRY_AFTER)
            else:
                self._schedule(self.projection.incidents[name], not_before=now + RETRY_AFTER)
        out += [Keyed(key, event) for key, event in self.dispatcher.tick(now)]
        return out

    def _alarm_events(self, alarm: Alarm, now: datetime) -> list[Keyed]:
        confirmed = self.projection.alarms.confirm(alarm, now, self.debounce, drill=alarm.drill)
        if confirmed is None:
            return []
        keyed = self._correlate([confirmed], now)
        return [Keyed(f"confirm:{alarm.key}#{alarm.observations}:{n}", e) for n, e in enumerate(keyed)]

    def _schedule_alarm(self, alarm: Alarm) -> None:
        ref = f"a:{alarm.key}"
        when = self.projection.alarms.due(alarm, self.debounce)
        if when is None:
            self._versions.pop(ref, None)
            return
        version = self._versions.get(ref, 0) + 1
        self._versions[ref] = version
        self._push(when, ref, version)

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
        ref = f"i:{incident.id}"
        version = self._versions.get(ref, 0) + 1
        self._versions[ref] = version
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
            self._push(max(when, not_before) if not_before else when, ref, version)

    def _item_events(self, item: Item, now: datetime) -> list[Keyed]:
        incident = self.projection.incidents[item.incident]
        due = rectification.due_events(item, incident, self.deadlines, now, ENGINE_ACTOR)
        return [Keyed(key, event) for key, event in due]

    def _schedule_item(self, item: Item, not_before: datetime | None = None) -> None:
        """Put the item's next reminder or overdue notice on the heap, like `_schedule`."""
        ref = f"r:{item.id}"
        version = self._versions.get(ref, 0) + 1
        self._versions[ref] = version
        when = rectification.next_wakeup(item, self.projection.incidents[item.incident], self.deadlines)
        if when is not None:
            self._push(max(when, not_before) if not_before else when, ref, version)

    def _push(self, when: datetime, ref: str, version: int) -> None:
        heapq.heappush(self._heap, (when, next(self._order), ref, version))

    # -- alarms ----------------------------------------------------------------------------------

    def ingest(self, feed: str, decoded: Decoded, arrival: Arrival, *, drill: bool = False) -> list[Keyed]:
        """What a decoded message means: alarm changes, and incidents opened or attached to."""
        source = self.feeds.get(feed) or Feed(name=feed)
        decoded = decoded_sanitised(decoded)  # devices' text made harmless, cut when too long
        events = self.projection.alarms.observe(source, decoded, arrival, self.debounce, drill=drill)
        keyed = self._correlate(events, arrival.received_at)
        return [Keyed(f"{arrival.id}:{n}", event) for n, event in enumerate(keyed)]

    def _correlate(self, events: list[Event], now: datetime) -> list[Event]:
        """Attach each confirmed raise to its device's open incident for that kind, or open one
        through the first plan whose triggers match (an exact kind before a pattern)."""
        out: list[Event] = []
        opened: dict[str, str] = {}
        for event in events:
            raised = (isinstance(event, AlarmChanged) and event.status == "active") or (
                isinstance(event, AlarmObserved) and event.confirmed and event.signal != "clear"
            )
            if not raised:
                out.append(event)
                continue
            assert isinstance(event, AlarmChanged | AlarmObserved)
            info = event if isinstance(event, AlarmObserved) else self.projection.alarms.alarms.get(event.key)
            if info is None:
                out.append(event)
                continue
            kind = info.alarm_kind if isinstance(info, AlarmObserved) else info.kind
            trigger = f"{info.source}/{info.device}#{kind}"
            incident = opened.get(trigger) or self.projection.by_trigger.get(trigger)
            if incident is None:
                plan = self._plan_for(kind)
                if plan is not None:
                    opening = self._open_for_alarm(
                        plan,
                        info,
                        kind=kind,
                        trigger=trigger,
                        now=now,
                        drill=event.drill,
                        opened_now=len(opened),
                    )
                    out += opening
                    incident = opening[-1].incident
                    assert incident is not None
                    opened[trigger] = incident
            out.append(dataclasses.replace(event, incident=incident) if incident else event)
        return out

    def _plan_for(self, kind: str) -> Plan | None:
        if kind not in self._plan_by_kind:
            self._plan_by_kind[kind] = self._match_plan(kind)
        return self._plan_by_kind[kind]

    def _match_plan(self, kind: str) -> Plan | None:
        for exact in (True, False):
            for plan in self.plans.values():
                for pattern in plan.triggers.alarms:
                    if (pattern == kind) if exact else fnmatch.fnmatchcase(kind, pattern):
                        return plan
        return None

    def _open_for_alarm(
        self,
        plan: Plan,
        info: AlarmObserved | Alarm,
        *,
        kind: str,
        trigger: str,
        now: datetime,
        drill: bool,
        opened_now: int,
    ) -> list[Event]:
        place = " ".join(p for p in (info.site, info.building, info.floor) if p) or None
        severity = Severity[info.severity.upper()] if info.severity else None
        # by plan and place, as an officer would name it ("电梯困人 · 3号楼 EL-0107"); the alarm's
        # own words stay on the alarm
        title = f"{plan.title.zh} · {' '.join(p for p in (info.building, info.floor, info.device) if p)}"
        command = OpenIncident(
            actor=ENGINE_ACTOR,
            plan_id=plan.id,
            title=title,
            severity=severity,
            urgent=info.urgent,
            source=Source.ALARM,
            location=place,
            trigger=trigger,
            drill=drill,
        )
        return self._open(command, now, already=opened_now)

    # -- commands ------------------------------------------------------------------------------

    def handle(self, command: Command, now: datetime) -> list[Keyed]:
        """Check a command against the current state and return the events it causes.

        Nothing changes until the caller has stored the events and applied them."""
        command = sanitised(command)  # hostile text made harmless, over-long text refused
        at = command.at or now
        if at > now + FUTURE_TOLERANCE:
            raise Rejected("future", f"{at.isoformat()} is in the future", at=at)
        if isinstance(command, OpenIncident):
            events = self._open(command, at)
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
        else:
            events = [self._desk(command, at)]
        return [Keyed(f"{command.request_id}:{n}", event) for n, event in enumerate(events)]

    def _open(self, command: OpenIncident, at: datetime, already: int = 0) -> list[Event]:
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
                    plan=plan.model_dump(mode="json"),
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

    def _act(self, incident: Incident, command: IncidentCommand | ItemCommand, at: datetime) -> list[Event]:
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
            case AcknowledgeBreach(obligation=obligation):
                return self.dispatcher.acknowledge(incident, obligation, at=at, actor=command.actor)
        raise TypeError(f"unknown command {type(command).__name__}")

    def _desk(self, command: Command, at: datetime) -> Event:
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
        raise TypeError(f"unknown command {type(command).__name__}")

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
        self, incident: Incident, primary: list[Event], command: IncidentCommand | ItemCommand, at: datetime
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
