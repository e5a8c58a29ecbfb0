"""The engine's part for routines and planned events: registering routines, deciding rounds and
event commands, and firing warnings and breaches of every occurrence on time.

Pure, like the engine: it reads the projection's duty book and returns events for the caller
to store. Warnings and breaches are the incident kinds (`ObligationWarned`, `ObligationBreached`)
with no incident, so the notices and dispatch machinery tells and escalates them alike.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from dutydesk.playbooks.commands import Command, OpenIncident, Rejected
from dutydesk.playbooks.decisions import ENGINE_ACTOR, Decisions
from dutydesk.playbooks.duties import Owed, routine_owed, routine_ref, task_ref
from dutydesk.playbooks.duty_events import DutyDone, EventMoved, EventScheduled, RoutineRegistered
from dutydesk.playbooks.dutybook import DutyBook, PlannedEvent, Track, owed_from
from dutydesk.playbooks.eventplans import EventPlan
from dutydesk.playbooks.events import (
    BreachAcknowledged,
    Event,
    ObligationBreached,
    ObligationMet,
    ObligationWarned,
)
from dutydesk.playbooks.obligations import Deadlines, State
from dutydesk.playbooks.routines import Routine
from dutydesk.playbooks.typeddata import dump
from dutydesk.playbooks.vocab import Source

RECENT = timedelta(days=2)  # how far back a round looks for the occurrence it meets


@dataclass(frozen=True, slots=True, kw_only=True)
class LogRound(Command):
    """A round of a routine done (巡查): normal, or abnormal with a note; an abnormal round may
    open an incident with the routine's plan, linked to the round."""

    routine: str
    abnormal: bool = False
    note: str = ""
    open_incident: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class ScheduleEvent(Command):
    plan_id: str
    title: str
    place: str
    start: datetime
    end: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class MoveEvent(Command):
    event: str
    start: datetime
    end: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class CompleteTask(Command):
    """One of an event's tasks done, or one of its rounds logged; `drill` links the drill run
    (a drill incident) that did it (活动前全流程演练)."""

    event: str
    task: str
    abnormal: bool = False
    note: str = ""
    drill: str | None = None


DUTY_COMMANDS = (LogRound, ScheduleEvent, MoveEvent, CompleteTask)


@dataclass(frozen=True, slots=True)
class Entry:
    """One occurrence as the board shows it."""

    owed: Owed
    state: State
    met_at: datetime | None
    event: PlannedEvent | None  # None: a routine's round


class Timetable:
    def __init__(
        self,
        *,
        routines: Mapping[str, Routine],
        event_plans: Mapping[str, EventPlan],
        deadlines: Deadlines,
        decisions: Decisions,
    ) -> None:
        self.routines = dict(routines)
        self.event_plans = dict(event_plans)
        self.deadlines = deadlines
        self.decisions = decisions
        self._fingerprints = {routine_id: r.fingerprint() for routine_id, r in self.routines.items()}
        self._started: datetime | None = None
        self._idle_from: datetime | None = None  # the log's last activity before the start

    @property
    def book(self) -> DutyBook:
        return self.decisions.projection.duties

    def started(self, now: datetime, last_activity: datetime | None = None) -> None:
        self._started, self._idle_from = now, last_activity

    # -- registration ----------------------------------------------------------------------------

    def _registrations(self, at: datetime, only: str | None = None) -> list[RoutineRegistered]:
        """What makes the book time exactly the configured routines (`only`: just that one)."""
        out: list[RoutineRegistered] = []
        for routine_id in sorted(self.routines.keys() | self.book.routines.keys()):
            if only is not None and routine_id != only:
                continue
            routine, record = self.routines.get(routine_id), self.book.routines.get(routine_id)
            fingerprint = self._fingerprints.get(routine_id, "")
            if record is None and routine is None:
                continue
            if record is not None and record.fingerprint == fingerprint:
                continue
            out.append(
                RoutineRegistered(
                    at=at,
                    incident=None,
                    actor=ENGINE_ACTOR,
                    routine=routine_id,
                    fingerprint=fingerprint,
                    definition=dump(routine) if routine else None,
                )
            )
        return out

    # -- time ----------------------------------------------------------------------------------

    def next_wakeup(self) -> datetime | None:
        times: list[datetime] = []
        if self._started is not None and self._registrations(self._started):
            times.append(self._started)
        for record in self.book.active_routines():
            first = record.next_owed(self.deadlines)
            if first is not None:
                # a later occurrence may warn before the first one is due (rounds close together)
                ahead = record.open_owed(self.deadlines, first.due_at + _TICK)
                times += [_next_time(o, record.track) for o in ahead or [first]]
        for planned in self.book.events.values():
            owed = planned.owed(self.deadlines)
            times += [_next_time(o, planned.track) for o in owed if not planned.track.settled(o.key)]
        return min(times) if times else None

    def _fired(
        self,
        owed: Owed,
        track: Track,
        now: datetime,
        name: str,
        roles: tuple[tuple[str, ...], tuple[str, ...]],
    ) -> list[tuple[str, Event]]:
        """The warning or breach of one occurrence due by `now`, unless already told."""
        if track.settled(owed.key):
            return []
        state = state_of(owed, now, None)
        if state is State.BREACHED:
            idle = self._started is not None and owed.due_at < self._started
            event: Event = ObligationBreached(
                at=owed.due_at,  # dated at its due time, however late it is recorded
                incident=None,
                actor=ENGINE_ACTOR,
                obligation=owed.ref,
                occurrence=owed.occurrence,
                due_at=owed.due_at,
                late_seconds=(now - owed.due_at).total_seconds(),
                notify=roles[1],
                recorded_at=now,
                idle_from=self._idle_from if idle else None,
            )
            return [(f"{name}#{owed.occurrence}/breached", event)]
        if state is State.WARNING and owed.key not in track.warned:
            event = ObligationWarned(
                at=now,
                incident=None,
                actor=ENGINE_ACTOR,
                obligation=owed.ref,
                occurrence=owed.occurrence,
                due_at=owed.due_at,
                notify=roles[0],
            )
            return [(f"{name}#{owed.occurrence}/warned", event)]
        return []

    def entries(self, now: datetime, ahead: timedelta, behind: timedelta = timedelta(hours=2)) -> list[Entry]:
        """What the board shows: occurrences from `behind` ago to `ahead`, and anything older
        still owed, in time order."""
        out: list[Entry] = []
        for record in self.book.active_routines():
            assert record.routine is not None
            shown = {
                o.key: o
                for o in routine_owed(
                    record.routine, max(now - behind, record.since), now + ahead, self.deadlines
                )
            }
            shown |= {o.key: o for o in record.open_owed(self.deadlines, now + ahead)}
            out += [_entry(o, record.track, now, None) for o in shown.values()]
        for planned in self.book.events.values():
            out += [
                _entry(o, planned.track, now, planned)
                for o in planned.owed(self.deadlines)
                if now - behind <= o.at < now + ahead or (o.at < now and not planned.track.settled(o.key))
            ]
        return sorted(out, key=lambda e: (e.owed.at, e.owed.ref))

    # -- commands ------------------------------------------------------------------------------

    def decide(self, command: Command, at: datetime) -> list[Event]:
        match command:
            case LogRound():
                return self._round(command, at)
            case ScheduleEvent():
                return [self._schedule(command, at)]
            case MoveEvent():
                return self._move(command, at)
            case CompleteTask():
                return self._task(command, at)
        raise TypeError(f"unknown command {type(command).__name__}")

    def _round(self, command: LogRound, at: datetime) -> list[Event]:
        routine = self.routines.get(command.routine)
        if routine is None:
            raise Rejected(
                "unknown_routine",
                f"no routine {command.routine!r}; see `dutydesk routines list`",
                routine=command.routine,
            )
        _need_note(command.abnormal, command.note)
        events: list[Event] = list(self._registrations(at, only=routine.id))
        record = self.book.routines.get(routine.id)
        since = record.since if record is not None and record.routine is not None else owed_from(routine, at)
        ref = routine_ref(routine.id)
        slots = routine_owed(
            routine, max(since, at - RECENT), at + routine.window.wall() + _TICK, self.deadlines
        )
        track = record.track if record is not None else Track()
        owed = _current(slots, track, at)
        opened = None
        if command.open_incident:
            if not command.abnormal or routine.plan is None:
                raise Rejected(
                    "no_incident", "only an abnormal round of a routine with a plan opens an incident"
                )
            trigger = f"{ref}#{owed.occurrence}" if owed else ref
            events += self.decisions.open(
                OpenIncident(
                    actor=command.actor,
                    plan_id=routine.plan,
                    title=f"{routine.title.zh}发现异常：{command.note.strip()}"[:120],
                    source=Source.ONSITE,
                    description=command.note.strip(),
                    trigger=trigger,
                ),
                at,
            )
            opened = events[-1].incident
        return [
            *events,
            *_done(
                command.actor, at, ref, owed, abnormal=command.abnormal, note=command.note, incident=opened
            ),
        ]

    def _schedule(self, command: ScheduleEvent, at: datetime) -> Event:
        plan = self.event_plans.get(command.plan_id)
        if plan is None:
            known = ", ".join(sorted(self.event_plans))
            raise Rejected(
                "unknown_event_plan",
                f"no event plan {command.plan_id!r}; known: {known}",
                plan=command.plan_id,
                known=known,
            )
        if not command.title.strip():
            raise Rejected("empty", "the title is empty", field="title")
        _check_times(command.start, command.end)
        prefix = "EV" + command.start.astimezone(self.deadlines.zone).strftime("%Y%m%d")
        return EventScheduled(
            at=at,
            incident=None,
            actor=command.actor,
            event=f"{prefix}-{self.book.daily.get(prefix, 0) + 1:02d}",
            plan_id=plan.id,
            plan=dump(plan),
            title=command.title.strip(),
            place=command.place.strip(),
            start=command.start,
            end=command.end,
        )

    def _planned(self, event_id: str) -> PlannedEvent:
        planned = self.book.events.get(event_id)
        if planned is None:
            raise Rejected(
                "unknown_event", f"no event {event_id!r}; see `dutydesk events list`", event=event_id
            )
        return planned

    def _move(self, command: MoveEvent, at: datetime) -> list[Event]:
        planned = self._planned(command.event)
        _check_times(command.start, command.end)
        if (command.start, command.end) == (planned.start, planned.end):
            raise Rejected("same_times", f"event {planned.id} is already at these times", event=planned.id)
        prefix = f"event:{planned.id}/"
        # the breaches of the old times are over: their escalation stops
        stale = [
            BreachAcknowledged(at=at, incident=None, actor=command.actor, obligation=ref, occurrence=n)
            for _, ref, n in self.decisions.projection.notices.breaches
            if ref.startswith(prefix) and (ref, n) not in planned.track.met
        ]
        moved = EventMoved(
            at=at,
            incident=None,
            actor=command.actor,
            event=planned.id,
            start=command.start,
            end=command.end,
            previous_start=planned.start,
            previous_end=planned.end,
        )
        return [moved, *stale]

    def _task(self, command: CompleteTask, at: datetime) -> list[Event]:
        planned = self._planned(command.event)
        try:
            task = planned.plan.task(command.task)
        except KeyError:
            known = ", ".join(t.id for t in planned.plan.tasks)
            raise Rejected(
                "unknown_task",
                f"event plan {planned.plan.id} has no task {command.task!r}; known: {known}",
                task=command.task,
                known=known,
            ) from None
        _need_note(command.abnormal, command.note)
        ref = task_ref(planned.id, task.id)
        owed = _current([o for o in planned.owed(self.deadlines) if o.ref == ref], planned.track, at)
        if owed is None and task.every is None:
            raise Rejected(
                "task_done",
                f"{task.id} of event {planned.id} is already done",
                task=task.id,
                event=planned.id,
            )
        linked = None
        if command.drill is not None:
            run = self.decisions.projection.incidents.get(command.drill)
            if run is None or not run.drill:
                raise Rejected("not_a_drill", f"{command.drill} is not a drill run", drill=command.drill)
            linked = run.id
        return _done(
            command.actor, at, ref, owed, abnormal=command.abnormal, note=command.note, incident=linked
        )

    def tick(self, now: datetime) -> list[tuple[str, Event]]:
        """Registrations, then each warning and breach due by `now`, every missed occurrence
        counted on its own (a gap while nothing ran shows in `late_seconds`)."""
        out: list[tuple[str, Event]] = [
            (f"routine:{e.routine}:{e.fingerprint}@{now.isoformat()}", e) for e in self._registrations(now)
        ]
        for record in self.book.active_routines():
            routine = record.routine
            assert routine is not None
            ahead = max(timedelta(0), -routine.warning.delta) + timedelta(microseconds=1)
            roles = (routine.targets("warning"), routine.targets("breach"))
            for owed in record.open_owed(self.deadlines, now + ahead):
                out += self._fired(owed, record.track, now, owed.ref, roles)
        for planned in self.book.events.values():
            plan = planned.plan
            for owed in planned.owed(self.deadlines):
                task = plan.task(owed.ref.rsplit("/", 1)[1])
                roles = (plan.targets(task, "warning"), plan.targets(task, "breach"))
                out += self._fired(owed, planned.track, now, f"{owed.ref}@{planned.moves}", roles)
        return out


_TICK = timedelta(microseconds=1)


def _need_note(abnormal: bool, note: str) -> None:
    if abnormal and not note.strip():
        raise Rejected("empty", "an abnormal round needs a note saying what was found", field="note")


def _check_times(start: datetime, end: datetime) -> None:
    if end <= start:
        raise Rejected(
            "end_before_start",
            f"the end {end.isoformat()} is not after the start {start.isoformat()}",
            start=start,
            end=end,
        )


def _current(owed: list[Owed], track: Track, at: datetime) -> Owed | None:
    """The occurrence an action at `at` meets: the latest one open by then, if not yet met."""
    opened = [o for o in owed if o.counts_at(at)]
    if not opened or opened[-1].key in track.met:
        return None
    return opened[-1]


def _done(
    actor: str, at: datetime, ref: str, owed: Owed | None, *, abnormal: bool, note: str, incident: str | None
) -> list[Event]:
    done: list[Event] = [
        DutyDone(
            at=at,
            incident=incident,
            actor=actor,
            ref=ref,
            occurrence=owed.occurrence if owed else None,
            due_at=owed.due_at if owed else None,
            abnormal=abnormal,
            note=note.strip(),
        )
    ]
    if owed is not None:
        done.append(
            ObligationMet(
                at=at,
                incident=None,
                actor=actor,
                obligation=ref,
                occurrence=owed.occurrence,
                due_at=owed.due_at,
                margin_seconds=(owed.due_at - at).total_seconds(),
                by="round" if ref.startswith("routine:") else "task",
            )
        )
    return done


def _entry(owed: Owed, track: Track, now: datetime, planned: PlannedEvent | None) -> Entry:
    met_at = track.met.get(owed.key)
    state = State.BREACHED if owed.key in track.breached and met_at is None else state_of(owed, now, met_at)
    return Entry(owed, state, met_at, planned)


def _next_time(owed: Owed, track: Track) -> datetime:
    """When an unsettled occurrence next needs the timer: its warning, unless told, or its deadline."""
    return owed.due_at if owed.key in track.warned else min(owed.warn_at, owed.due_at)


def state_of(owed: Owed, now: datetime, met_at: datetime | None) -> State:
    """The occurrence's state at `now` (a missed occurrence stays missed once breached)."""
    if met_at is not None:
        return State.MET
    if now >= owed.due_at:
        return State.BREACHED
    return State.WARNING if now >= owed.warn_at else State.PENDING
