"""What routines and planned events have done, folded from the event log: the projection's part.

Pure. Per routine: its definition, when it was first registered (occurrences count from then), a
cursor before which every occurrence is settled (met or missed), and the occurrences met, warned
and breached. Per planned event: its plan, title, place and times, and the same record.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from dutydesk.playbooks.duties import Owed, event_owed, routine_owed
from dutydesk.playbooks.duty_events import DutyDone, EventMoved, EventScheduled, RoutineRegistered
from dutydesk.playbooks.eventplans import EventPlan
from dutydesk.playbooks.events import Event, ObligationBreached, ObligationMet, ObligationWarned
from dutydesk.playbooks.plans import Text
from dutydesk.playbooks.routines import Routine
from dutydesk.playbooks.typeddata import dump, read

if TYPE_CHECKING:  # obligations imports the incident projection, which holds this book
    from dutydesk.playbooks.obligations import Deadlines

Key = tuple[str, int]  # ref, occurrence
KEEP = timedelta(days=7)  # settled routine occurrences remembered behind the cursor
LOOK = timedelta(days=62)  # the longest gap between two occurrences searched for (weekly, holidays)


@dataclass(slots=True)
class Track:
    """Occurrences met (when), warned and breached; rounds logged and how many were abnormal."""

    met: dict[Key, datetime] = field(default_factory=dict)
    warned: set[Key] = field(default_factory=set)
    breached: set[Key] = field(default_factory=set)
    rounds: int = 0
    abnormal: int = 0
    findings: dict[Key, str] = field(default_factory=dict)  # what abnormal rounds found

    def settled(self, key: Key) -> bool:
        return key in self.met or key in self.breached

    def to_dict(self) -> dict[str, Any]:
        return {
            "met": [[r, n, t.isoformat()] for (r, n), t in self.met.items()],
            "warned": sorted(self.warned),
            "breached": sorted(self.breached),
            "rounds": self.rounds,
            "abnormal": self.abnormal,
            "findings": [[r, n, text] for (r, n), text in self.findings.items()],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Track:
        return cls(
            met={(r, n): datetime.fromisoformat(t) for r, n, t in data["met"]},
            warned={(r, n) for r, n in data["warned"]},
            breached={(r, n) for r, n in data["breached"]},
            rounds=data["rounds"],
            abnormal=data["abnormal"],
            findings={(r, n): text for r, n, text in data["findings"]},
        )


def owed_from(routine: Routine, registered: datetime) -> datetime:
    """The first scheduled time a routine registered at `registered` owes: every occurrence whose
    deadline is still ahead then (registered at 22:10, the 22:00 round is owed by 22:15)."""
    return registered - routine.breach.delta + timedelta(microseconds=1)


@dataclass(slots=True)
class RoutineRecord:
    routine: Routine | None  # None: withdrawn
    fingerprint: str
    since: datetime  # occurrences scheduled from this time on are owed (`owed_from`)
    cursor: datetime  # every occurrence before it is settled
    track: Track = field(default_factory=Track)

    def open_owed(self, deadlines: Deadlines, until: datetime) -> list[Owed]:
        """The unsettled occurrences from the cursor up to `until`; moves the cursor past the
        settled ones at the front (a cache: it only skips what is settled anyway)."""
        if self.routine is None:
            return []
        owed = routine_owed(self.routine, self.cursor, until, deadlines)
        settled = 0
        while settled < len(owed) and self.track.settled(owed[settled].key):
            settled += 1
        if settled:
            self.cursor = owed[settled - 1].at + timedelta(microseconds=1)
            self._forget(owed[settled - 1].at - KEEP)
        return [o for o in owed[settled:] if not self.track.settled(o.key)]

    def next_owed(self, deadlines: Deadlines) -> Owed | None:
        """The first unsettled occurrence: the next thing this routine waits for."""
        start = self.cursor
        while self.routine is not None and start < self.cursor + LOOK:
            found = self.open_owed(deadlines, start + timedelta(days=2))
            if found:
                return found[0]
            start += timedelta(days=2)
        return None

    def _forget(self, before: datetime) -> None:
        stamp = int(before.timestamp()) // 60
        track = self.track
        for keys in (track.warned, track.breached):
            keys.difference_update([k for k in keys if k[1] < stamp])
        for settled in (track.met, track.findings):
            for key in [k for k in settled if k[1] < stamp]:
                del settled[key]


@dataclass(slots=True)
class PlannedEvent:
    id: str
    plan: EventPlan
    title: str
    place: str
    start: datetime
    end: datetime
    scheduled_at: datetime
    moves: int = 0
    track: Track = field(default_factory=Track)

    def owed(self, deadlines: Deadlines) -> list[Owed]:
        return event_owed(self.id, self.plan, self.start, self.end, deadlines)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "plan": dump(self.plan),
            "title": self.title,
            "place": self.place,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "scheduled_at": self.scheduled_at.isoformat(),
            "moves": self.moves,
            "track": self.track.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PlannedEvent:
        return cls(
            id=data["id"],
            plan=read(EventPlan, data["plan"]),
            title=data["title"],
            place=data["place"],
            start=datetime.fromisoformat(data["start"]),
            end=datetime.fromisoformat(data["end"]),
            scheduled_at=datetime.fromisoformat(data["scheduled_at"]),
            moves=data["moves"],
            track=Track.from_dict(data["track"]),
        )


ROUTINE_PREFIX, EVENT_PREFIX = "routine:", "event:"


@dataclass(slots=True)
class DutyBook:
    routines: dict[str, RoutineRecord] = field(default_factory=dict)
    events: dict[str, PlannedEvent] = field(default_factory=dict)
    daily: dict[str, int] = field(default_factory=dict)  # events scheduled per id prefix (date)

    def track_of(self, ref: str) -> Track | None:
        """The record a ref writes to: `routine:ID` or `event:ID/TASK`."""
        if ref.startswith(ROUTINE_PREFIX):
            record = self.routines.get(ref.removeprefix(ROUTINE_PREFIX))
            return record.track if record is not None else None
        planned = self.events.get(ref.removeprefix(EVENT_PREFIX).split("/", 1)[0])
        return planned.track if planned is not None else None

    def apply(self, event: Event) -> None:
        match event:
            case RoutineRegistered(routine=routine_id, definition=definition):
                routine = read(Routine, definition) if definition is not None else None
                record = self.routines.get(routine_id)
                start = owed_from(routine, event.at) if routine is not None else event.at
                if record is None:
                    self.routines[routine_id] = RoutineRecord(routine, event.fingerprint, start, start)
                else:
                    if record.routine is None:  # back after a withdrawal: the gap was not owed
                        record.since, record.cursor = start, max(record.cursor, start)
                    record.routine, record.fingerprint = routine, event.fingerprint
            case EventScheduled():
                self.events[event.event] = PlannedEvent(
                    id=event.event,
                    plan=read(EventPlan, event.plan),
                    title=event.title,
                    place=event.place,
                    start=event.start,
                    end=event.end,
                    scheduled_at=event.at,
                )
                prefix = event.event.rsplit("-", 1)[0]
                self.daily[prefix] = self.daily.get(prefix, 0) + 1
            case EventMoved():
                planned = self.events.get(event.event)
                if planned is not None:
                    planned.start, planned.end, planned.moves = event.start, event.end, planned.moves + 1
                    # what was not met is owed afresh at the new times
                    track = planned.track
                    track.warned.intersection_update(track.met)
                    track.breached.intersection_update(track.met)
            case DutyDone(ref=ref, occurrence=occurrence, abnormal=abnormal, note=note):
                done = self.track_of(ref)
                if done is not None:
                    done.rounds += 1
                    done.abnormal += abnormal
                    if abnormal and occurrence is not None:
                        done.findings[(ref, occurrence)] = note
            case ObligationMet() | ObligationWarned() | ObligationBreached() if event.incident is None:
                told = self.track_of(event.obligation)
                if told is None:
                    return
                key = (event.obligation, event.occurrence)
                if isinstance(event, ObligationMet):
                    told.met[key] = event.at
                elif isinstance(event, ObligationWarned):
                    told.warned.add(key)
                else:
                    told.breached.add(key)
            case _:
                pass

    def title_of(self, ref: str) -> Text | None:
        """What a message calls a routine's round or an event's task: `巡查监控画面`, or
        `会后30分钟内清理场地（季度工作会）`."""
        if ref.startswith(ROUTINE_PREFIX):
            record = self.routines.get(ref.removeprefix(ROUTINE_PREFIX))
            return record.routine.title if record is not None and record.routine is not None else None
        event_id, _, task_id = ref.removeprefix(EVENT_PREFIX).partition("/")
        planned = self.events.get(event_id)
        if planned is None:
            return None
        try:
            task = planned.plan.task(task_id).title
        except KeyError:
            return None
        return Text(zh=f"{task.zh}（{planned.title}）", en=f"{task.en} ({planned.title})")

    def findings(self) -> dict[Key, str]:
        """What abnormal rounds and tasks found, by occurrence (the recent ones for routines)."""
        tracks = [r.track for r in self.routines.values()] + [e.track for e in self.events.values()]
        return {key: text for track in tracks for key, text in track.findings.items()}

    def active_routines(self) -> Iterator[RoutineRecord]:
        return (r for r in self.routines.values() if r.routine is not None)

    def to_snapshot(self) -> dict[str, Any]:
        return {
            "routines": [
                [
                    rid,
                    dump(r.routine) if r.routine else None,
                    r.fingerprint,
                    r.since.isoformat(),
                    r.cursor.isoformat(),
                    r.track.to_dict(),
                ]
                for rid, r in self.routines.items()
            ],
            "events": [e.to_dict() for e in self.events.values()],
            "daily": self.daily,
        }

    @classmethod
    def from_snapshot(cls, data: dict[str, Any]) -> DutyBook:
        _time = datetime.fromisoformat
        return cls(
            routines={
                rid: RoutineRecord(
                    read(Routine, d) if d else None,
                    fp,
                    _time(since),
                    _time(cursor),
                    Track.from_dict(t),
                )
                for rid, d, fp, since, cursor, t in data["routines"]
            },
            events={e["id"]: PlannedEvent.from_dict(e) for e in data["events"]},
            daily=dict(data["daily"]),
        )
