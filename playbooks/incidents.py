"""Current state as a projection of the event log: every incident folded from its events."""

from __future__ import annotations

import dataclasses
import json
from collections import ChainMap
from collections.abc import Iterator, MutableMapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from dutydesk.playbooks.alarmbook import Alarm, AlarmBook
from dutydesk.playbooks.dutybook import DutyBook
from dutydesk.playbooks.events import (
    MERGED_INTO,
    AlarmAcknowledged,
    AlarmChanged,
    AlarmObserved,
    AlarmShelved,
    DeviceChanged,
    DocumentNumbered,
    Event,
    IncidentCorrected,
    IncidentMerged,
    IncidentOpened,
    MilestoneReached,
    MilestoneRetracted,
    NoteAdded,
    ObligationBreached,
    ObligationMet,
    ObligationWarned,
    PlanRegistered,
    ProgressUpdated,
    SeverityChanged,
    UrgencyChanged,
)
from dutydesk.playbooks.notices import NoticeBook
from dutydesk.playbooks.plans import Plan
from dutydesk.playbooks.rectification import REGISTER_EVENTS, Item, Register
from dutydesk.playbooks.typeddata import dump, read
from dutydesk.playbooks.vocab import Milestone, Severity

OccurrenceKey = tuple[str, int]  # (obligation id, occurrence number from 1)


@dataclass(slots=True)
class Incident:
    id: str
    plan: Plan
    plan_fingerprint: str
    title: str
    severity: Severity
    urgent: bool
    drill: bool
    source: str
    location: str | None
    description: str | None
    trigger: str | None
    milestones: dict[str, datetime]
    met: MutableMapping[OccurrenceKey, datetime] = field(default_factory=dict)
    # the due time each occurrence had when it was met: later changes (urgent) do not rewrite it
    met_due: MutableMapping[OccurrenceKey, datetime | None] = field(default_factory=dict)
    # per obligation, its latest occurrence met and when: where a recurring one carries on from,
    # so evaluating it costs the same on day 90 as on day 1
    latest: dict[str, tuple[int, datetime]] = field(default_factory=dict)
    warned: set[OccurrenceKey] = field(default_factory=set)
    breached: set[OccurrenceKey] = field(default_factory=set)
    updates: int = 0
    notes: int = 0
    close_reason: str | None = None
    last_seq: int = 0

    @property
    def received_at(self) -> datetime:
        return self.milestones[Milestone.RECEIVED]

    @property
    def closed(self) -> bool:
        return Milestone.CLOSED in self.milestones

    @property
    def phase(self) -> Milestone:
        """The furthest lifecycle step reached."""
        for step in reversed(Milestone):
            if step in self.milestones:
                return step
        return Milestone.RECEIVED

    def copy(self) -> Incident:
        """A copy whose collections can change without touching this one."""
        return dataclasses.replace(
            self,
            milestones=dict(self.milestones),
            # layered, not copied: a decision on an incident met thousands of times stays cheap
            met=ChainMap({}, self.met),
            met_due=ChainMap({}, self.met_due),
            latest=dict(self.latest),
            warned=set(self.warned),
            breached=set(self.breached),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "plan": self.plan_fingerprint,
            "title": self.title,
            "severity": self.severity.id,
            "urgent": self.urgent,
            "drill": self.drill,
            "source": self.source,
            "location": self.location,
            "description": self.description,
            "trigger": self.trigger,
            # columns rather than rows: a restart rebuilds them with C-level loops
            "milestones": [list(self.milestones), [t.isoformat() for t in self.milestones.values()]],
            "met": [
                [o for o, _ in self.met],
                [n for _, n in self.met],
                [t.isoformat() for t in self.met.values()],
                [t.isoformat() if t else None for t in (self.met_due.get(k) for k in self.met)],
            ],
            "warned": sorted(self.warned),
            "breached": sorted(self.breached),
            "updates": self.updates,
            "notes": self.notes,
            "close_reason": self.close_reason,
            "last_seq": self.last_seq,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], plans: dict[str, Plan]) -> Incident:
        keys = list(zip(data["met"][0], data["met"][1], strict=True))
        incident = cls(
            id=data["id"],
            plan=plans[data["plan"]],
            plan_fingerprint=data["plan"],
            title=data["title"],
            severity=Severity[data["severity"].upper()],
            urgent=data["urgent"],
            drill=data["drill"],
            source=data["source"],
            location=data["location"],
            description=data["description"],
            trigger=data["trigger"],
            milestones=dict(zip(data["milestones"][0], map(_time, data["milestones"][1]), strict=True)),
            met=dict(zip(keys, map(_time, data["met"][2]), strict=True)),
            met_due=dict(zip(keys, (_time(t) if t else None for t in data["met"][3]), strict=True)),
            warned=set(map(tuple, data["warned"])),
            breached=set(map(tuple, data["breached"])),
            updates=data["updates"],
            notes=data["notes"],
            close_reason=data["close_reason"],
            last_seq=data["last_seq"],
        )
        for key, at in incident.met.items():
            incident.advance(key, at)
        return incident

    def advance(self, key: OccurrenceKey, at: datetime) -> None:
        """Note an occurrence met, moving the obligation's latest forward."""
        latest = self.latest.get(key[0])
        if latest is None or key[1] >= latest[0]:
            self.latest[key[0]] = (key[1], at)


SNAPSHOT_VERSION = 8
# a tuple built once: `isinstance` with `A | B` builds the union at every event of a replay
ALARM_EVENTS = (AlarmObserved, AlarmChanged, DeviceChanged, AlarmAcknowledged, AlarmShelved)
_time = datetime.fromisoformat
_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


class IncidentTable(MutableMapping[str, Incident]):
    """Incidents by id. Closed incidents restored from a snapshot stay as JSON text until someone
    asks for them, so a restart costs what the open incidents cost, not the whole history."""

    def __init__(self, plans: dict[str, Plan]) -> None:
        self._plans = plans
        self._live: dict[str, Incident] = {}
        self._dormant: dict[str, str] = {}

    def __getitem__(self, incident_id: str) -> Incident:
        incident = self._live.get(incident_id)
        if incident is None:
            text = self._dormant.pop(incident_id)  # KeyError when unknown
            incident = self._live[incident_id] = Incident.from_dict(json.loads(text), self._plans)
        return incident

    def __setitem__(self, incident_id: str, incident: Incident) -> None:
        self._dormant.pop(incident_id, None)
        self._live[incident_id] = incident

    def __delitem__(self, incident_id: str) -> None:
        if self._live.pop(incident_id, None) is None:
            del self._dormant[incident_id]

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._live.keys() | self._dormant.keys()))

    def __len__(self) -> int:
        return len(self._live) + len(self._dormant)

    def __contains__(self, incident_id: object) -> bool:
        return incident_id in self._live or incident_id in self._dormant

    def open(self) -> list[Incident]:
        """The incidents still open (never dormant: only closed ones sleep)."""
        return [i for i in self._live.values() if not i.closed]

    def to_snapshot(self) -> tuple[list[dict[str, Any]], dict[str, str]]:
        """(open incidents, closed incidents as JSON text)."""
        dormant = dict(self._dormant)
        live = []
        for incident in self._live.values():
            if incident.closed:
                dormant[incident.id] = _encode(incident.to_dict())
            else:
                live.append(incident.to_dict())
        return live, dormant

    def restore(self, live: list[dict[str, Any]], dormant: dict[str, str]) -> None:
        for item in live:
            incident = Incident.from_dict(item, self._plans)
            self._live[incident.id] = incident
        self._dormant.update(dormant)


class Projection:
    """Plans by fingerprint and incidents by id, as of the last event applied (`seq`)."""

    def __init__(self) -> None:
        self.plans: dict[str, Plan] = {}
        self.incidents = IncidentTable(self.plans)
        self.daily: dict[str, int] = {}  # incidents opened per id prefix (drill flag + date)
        self.alarms = AlarmBook()
        self.register = Register()  # rectification items
        self.by_trigger: dict[str, str] = {}  # open incidents by the device and alarm kind that started them
        self.notices = NoticeBook()  # roster, unacknowledged breaches, messages and deliveries under way
        self.numbers: dict[tuple[str, str], str] = {}  # document numbers by (document, subject)
        self.serials: dict[tuple[str, int], int] = {}  # the last serial by (prefix, year)
        self.duties = DutyBook()  # routines and planned events
        self.seq = 0
        self.last_at: datetime | None = None  # the latest moment the log shows anything happening

    def apply(self, event: Event, seq: int) -> Incident | Alarm | Item | None:
        """Fold one event in; returns the incident, alarm or rectification item it touched, if any."""
        self.seq = max(self.seq, seq)
        seen = event.noticed_at if isinstance(event, ObligationBreached) else event.at
        if self.last_at is None or seen > self.last_at:
            self.last_at = seen
        self.notices.apply(event, seq)
        self.duties.apply(event)
        if isinstance(event, ALARM_EVENTS):
            return self.alarms.apply(event)
        if isinstance(event, REGISTER_EVENTS):
            return self.register.apply(event)
        if isinstance(event, PlanRegistered):
            self.plans[event.fingerprint] = read(Plan, event.plan)
            return None
        if isinstance(event, DocumentNumbered):
            self.numbers[(event.document, event.subject)] = event.number
            key = (event.prefix, event.year)
            self.serials[key] = max(self.serials.get(key, 0), event.serial)
            return None
        if isinstance(event, IncidentOpened):
            assert event.incident is not None
            incident = Incident(
                id=event.incident,
                plan=self.plans[event.plan_fingerprint],
                plan_fingerprint=event.plan_fingerprint,
                title=event.title,
                severity=Severity[event.severity.upper()],
                urgent=event.urgent,
                drill=event.drill,
                source=event.source,
                location=event.location,
                description=event.description,
                trigger=event.trigger,
                milestones={Milestone.RECEIVED.value: event.at},
            )
            self.incidents[incident.id] = incident
            if incident.trigger:
                self.by_trigger[incident.trigger] = incident.id
            prefix = incident.id.rsplit("-", 1)[0]
            self.daily[prefix] = self.daily.get(prefix, 0) + 1
            incident.last_seq = seq
            return incident
        touched = self.incidents.get(event.incident or "")
        if touched is None:
            return None
        touched.last_seq = seq
        apply_to(touched, event)
        if touched.closed and touched.trigger:
            self.by_trigger.pop(touched.trigger, None)
        return touched

    def to_snapshot(self) -> dict[str, Any]:
        live, dormant = self.incidents.to_snapshot()
        return {
            "version": SNAPSHOT_VERSION,
            "seq": self.seq,
            "last_at": self.last_at.isoformat() if self.last_at else None,
            "plans": {fp: dump(p) for fp, p in self.plans.items()},
            "daily": self.daily,
            "open": live,
            "closed": dormant,
            "alarms": self.alarms.to_snapshot(),
            "notices": self.notices.to_snapshot(),
            "register": self.register.to_snapshot(),
            "numbers": [[*key, number] for key, number in self.numbers.items()],
            "serials": [[*key, serial] for key, serial in self.serials.items()],
            "duties": self.duties.to_snapshot(),
        }

    @classmethod
    def from_snapshot(cls, data: dict[str, Any]) -> Projection:
        if data.get("version") != SNAPSHOT_VERSION:
            raise ValueError(f"snapshot version {data.get('version')} is not {SNAPSHOT_VERSION}")
        projection = cls()
        projection.seq = data["seq"]
        projection.last_at = _time(data["last_at"]) if data["last_at"] else None
        projection.plans.update({fp: read(Plan, p) for fp, p in data["plans"].items()})
        projection.daily = dict(data["daily"])
        projection.incidents.restore(data["open"], data["closed"])
        projection.alarms.restore(data["alarms"])
        projection.notices = NoticeBook.from_snapshot(data["notices"])
        projection.register.restore(data["register"])
        # absent from snapshots older than document numbers
        projection.numbers = {(d, subject): number for d, subject, number in data.get("numbers", ())}
        projection.serials = {(prefix, year): serial for prefix, year, serial in data.get("serials", ())}
        projection.duties = DutyBook.from_snapshot(data["duties"])
        projection.by_trigger = {i.trigger: i.id for i in projection.incidents.open() if i.trigger}
        return projection


def apply_to(incident: Incident, event: Event) -> None:
    """How each event changes an incident."""
    match event:
        case MilestoneReached(milestone=milestone, text=text):
            incident.milestones[milestone] = event.at
            if milestone == Milestone.CLOSED:
                incident.close_reason = text
        case ProgressUpdated():
            incident.updates += 1
        case NoteAdded():
            incident.notes += 1
        case MilestoneRetracted(milestone=milestone):
            incident.milestones.pop(milestone, None)
            # what the milestone met is owed again (new mappings: a decision's copy layers them)
            owed = {ob.id for ob in incident.plan.obligations if ob.met_by == milestone}
            incident.met = {k: v for k, v in incident.met.items() if k[0] not in owed}
            incident.met_due = {k: v for k, v in incident.met_due.items() if k[0] not in owed}
        case UrgencyChanged(urgent=urgent):
            incident.urgent = urgent
        case IncidentCorrected(field="received_at", value=value):
            incident.milestones[Milestone.RECEIVED] = datetime.fromisoformat(value)
        case IncidentCorrected(field="location", value=value):
            incident.location = value or None
        case IncidentCorrected(field="title", value=value):
            incident.title = value
        case IncidentMerged(merged=merged, into=into) if merged == incident.id:
            incident.milestones[Milestone.CLOSED] = event.at
            incident.close_reason = f"{MERGED_INTO} {into}"
        case SeverityChanged(severity=severity):
            incident.severity = Severity[severity.upper()]
        case ObligationMet(obligation=obligation, occurrence=occurrence):
            incident.met[(obligation, occurrence)] = event.at
            incident.met_due[(obligation, occurrence)] = event.due_at
            incident.advance((obligation, occurrence), event.at)
        case ObligationWarned(obligation=obligation, occurrence=occurrence):
            incident.warned.add((obligation, occurrence))
        case ObligationBreached(obligation=obligation, occurrence=occurrence):
            incident.breached.add((obligation, occurrence))
        case _:
            pass
